//! A real `kinga serve` process on loopback, with tokens for every role, and
//! a real HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::support::kinga_bin;

/// The tokens a test server knows, by role.
pub struct Tokens {
    pub evaluator: String,
    pub admin: String,
    pub auditor: String,
    /// An evaluator allowed unpublished report figures.
    pub analyst: String,
    /// A second evaluator (its own rate budget).
    pub other: String,
}

/// A running server.
pub struct Server {
    child: Option<Child>,
    pub public: String,
    pub ops: Option<String>,
    pub home: tempfile::TempDir,
    pub tokens: Tokens,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

/// One compiled-plugin cache for every server of this test run: the first
/// server compiles, the others load in milliseconds.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn token(principal: &str, roles: &[&str], unpublished: bool) -> (String, String) {
    let (token, hash) = kinga_host::serve::auth::new_token().unwrap();
    let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    let entry = format!(
        "[[tokens]]\nprincipal = \"{principal}\"\nroles = [{}]\nsha256 = \"{hash}\"\nunpublished_figures = {unpublished}\n",
        roles.join(", ")
    );
    (token, entry)
}

/// What to start a server with.
#[derive(Default)]
pub struct Options<'a> {
    /// TOML put before the tokens (top-level keys, then tables).
    pub config: &'a str,
    /// A plugin directory other than the reference plugins.
    pub plugins: Option<&'a Path>,
    /// An administration directory prepared beforehand.
    pub home: Option<tempfile::TempDir>,
    /// More arguments after `serve`.
    pub args: &'a [&'a str],
    /// Environment variables for the server.
    pub env: &'a [(&'a str, &'a str)],
}

impl Server {
    /// A server with the reference plugins and the default limits.
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    /// A server with `config` (TOML) added to the test configuration.
    pub fn with_config(config: &str) -> Server {
        Server::start_with(Options {
            config,
            ..Options::default()
        })
    }

    /// A server started as `options` say.
    pub fn start_with(options: Options<'_>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let home = options.home.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let (evaluator, e1) = token("primero-sidecar", &["evaluator"], false);
        let (admin, e2) = token("amina", &["admin"], false);
        let (auditor, e3) = token("audit-office", &["auditor"], false);
        let (analyst, e4) = token("me-officer", &["evaluator"], true);
        let (other, e5) = token("cpims-bridge", &["evaluator"], false);
        let (top, tables) = split_toml(options.config);
        let config = format!(
            "listen = \"127.0.0.1:0\"\nops_listen = \"127.0.0.1:0\"\nreload_interval_seconds = 1\n{top}\n{tables}\n{e1}{e2}{e3}{e4}{e5}"
        );
        let config_path = dir.path().join("serve.toml");
        std::fs::write(&config_path, config).unwrap();
        let stderr = dir.path().join("stderr.log");
        let mut command = Command::new(kinga_bin());
        command
            .arg("--cache-dir")
            .arg(shared_cache())
            .arg("--home")
            .arg(home.path());
        if let Some(plugins) = options.plugins {
            command.arg("--plugins").arg(plugins);
        }
        let mut child = command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .args(options.args)
            .env_remove("KINGA_LISTEN")
            .env_remove("KINGA_OPS_LISTEN")
            .envs(options.env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("kinga serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let announced: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the server did not start: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        });
        Server {
            child: Some(child),
            public: announced["public"].as_str().unwrap().to_owned(),
            ops: announced["ops"].as_str().map(str::to_owned),
            home,
            tokens: Tokens {
                evaluator,
                admin,
                auditor,
                analyst,
                other,
            },
            stderr,
            _dir: dir,
        }
    }

    /// `http://public/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.public)
    }

    /// `http://ops/path`.
    pub fn ops_url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.ops.as_deref().expect("an ops listener")
        )
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap().code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Splits test TOML into top-level keys and tables, so tables go after the
/// harness's own top-level keys.
fn split_toml(config: &str) -> (String, String) {
    match config
        .find("\n[")
        .or_else(|| config.starts_with('[').then_some(0))
    {
        Some(at) => (config[..at].to_owned(), config[at..].to_owned()),
        None => (config.to_owned(), String::new()),
    }
}

/// An HTTP client that returns error statuses as responses.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Answer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts an RFC 9457 problem with `status` and `code`; returns it.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(
            body["type"],
            format!("https://kinga.invalid/problems/{code}")
        );
        assert!(body["title"].is_string() && body["detail"].is_string());
        assert!(
            body["correlation_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        body
    }
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("the server answers");
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap_or_default();
    Answer {
        status: response.status().as_u16(),
        headers,
        text,
    }
}

/// `method url` with a bearer token, headers and an optional body.
pub fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let agent = client();
    match body {
        Some(body) => answer(agent.run(request.body(body.to_vec()).unwrap())),
        None => answer(agent.run(request.body(()).unwrap())),
    }
}

/// `POST url` with a JSON body.
pub fn post_json(url: &str, token: &str, body: &Value) -> Answer {
    call(
        "POST",
        url,
        Some(token),
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

/// `GET url`.
pub fn get(url: &str, token: Option<&str>) -> Answer {
    call("GET", url, token, &[], None)
}

/// `PATCH url` with a JSON body and `If-Match`.
pub fn patch(url: &str, token: &str, if_match: Option<&str>, body: &Value) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(tag) = if_match {
        headers.push(("if-match", tag));
    }
    call(
        "PATCH",
        url,
        Some(token),
        &headers,
        Some(body.to_string().as_bytes()),
    )
}

/// Writes `request` on a raw connection and reads until the server closes
/// it (or `wait` passes); returns what arrived.
pub fn raw(addr: &str, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    String::from_utf8_lossy(&received).into_owned()
}

/// The as-of the service tests evaluate at.
pub const AS_OF: &str = "2026-07-01T09:00:00+03:00";

/// Routes the sample case; returns the state revision served and the rules
/// that referred.
pub fn referral_rules(server: &Server) -> (u64, Vec<String>) {
    let answer = post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &serde_json::json!({"case": crate::support::sample_case(), "as_of": AS_OF}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let rules = body["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect();
    (body["revision"].as_u64().unwrap(), rules)
}
