//! The README's `curl` session, run word for word against a real server:
//! its output must be the output the README shows.

use std::process::Command;

use super::server::Server;

const README: &str = include_str!("../../../README.md");

/// The text between `start` and `end` inside a fenced block.
fn block(start: &str, end: &str) -> String {
    let inner = README
        .split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("README has no {start}"));
    let open = inner.find("```").expect("a fenced block");
    let body = &inner[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.rfind("```").unwrap()].to_owned()
}

#[test]
fn the_readme_curl_session_prints_what_the_readme_says() {
    for tool in ["curl", "jq", "bash"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "the README session needs {tool} on the PATH"
        );
    }
    let session = block("<!-- serve-session:start -->", "<!-- serve-session:end -->");
    let expected = block("<!-- serve-session:end -->\n\nprints:", "\nA wrong token");
    let server = Server::start();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &session])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("KINGA", format!("http://{}", server.public))
        .env("EVALUATOR_TOKEN", &server.tokens.evaluator)
        .env("ADMIN_TOKEN", &server.tokens.admin)
        .env("AUDITOR_TOKEN", &server.tokens.auditor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(printed.trim_end(), expected.trim_end());
}
