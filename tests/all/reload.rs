//! Hot reload under concurrent evaluation: evaluations in flight finish on
//! the host they started with, new ones see the new state or version, and a
//! state or version that fails to validate or verify leaves the last good
//! host in place.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kinga_host::admin::{Change, Request, StateStore};
use kinga_host::admin::{Deployment, LiveHost};

use crate::support::{as_of, sample_case, valid};

fn request(reason: &str) -> Request {
    Request {
        actor: "amina".into(),
        reason: reason.into(),
        expected_revision: None,
    }
}

fn police_on(live: &LiveHost) -> bool {
    live.host()
        .route(&valid(&sample_case()), as_of())
        .unwrap()
        .iter()
        .any(|r| r.rule == "police")
}

#[test]
fn a_state_change_is_picked_up_without_a_restart_while_evaluations_run() {
    let home = tempfile::tempdir().unwrap();
    let deployment = Deployment {
        plugin_dir: Some(kinga_artifacts::REFERENCE_PLUGINS_DIR.into()),
        home: Some(home.path().to_path_buf()),
        ..Deployment::default()
    };
    let live = Arc::new(LiveHost::new(deployment).unwrap());
    assert!(police_on(&live));

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (live, stop, done) = (Arc::clone(&live), Arc::clone(&stop), Arc::clone(&done));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let host = live.host();
                    let first = host
                        .route(&valid(&sample_case()), as_of())
                        .expect("never fails during a reload");
                    let second = host.route(&valid(&sample_case()), as_of()).unwrap();
                    assert_eq!(
                        first, second,
                        "an evaluation sees one version from start to end"
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let store = StateStore::new(home.path());
    let off = Change::DisableRule {
        plugin: "kenya-referral-pathway".into(),
        rule: "police".into(),
    };
    let check = |next: &kinga_host::admin::AdminState| {
        live.host().check_state(next).map_err(|e| e.to_string())
    };
    store.apply(&request("desk closed"), &off, check).unwrap();
    assert_eq!(live.reload_if_changed().unwrap(), Some(1));
    assert!(!police_on(&live), "new evaluations see the change");
    assert_eq!(live.reload_if_changed().unwrap(), None, "nothing new");

    // A state that does not fit the plugins: refused, the last good host stays.
    std::fs::write(
        home.path().join("state.json"),
        r#"{"revision":2,"plugins":{"kenya-referral-pathway":{"enabled":true,"rules":{"no-such-rule":false}}}}"#,
    )
    .unwrap();
    let err = live.reload().unwrap_err();
    assert!(err.to_string().contains("no-such-rule"), "{err}");
    assert_eq!(live.revision(), 1);
    assert!(!police_on(&live), "still the last good configuration");

    // A package in use that no longer verifies: refused the same way.
    std::fs::write(
        home.path().join("state.json"),
        r#"{"revision":3,"packages":{"kenya-referral-pathway":{"active":{"version":"9.9.9","component_sha256":"00","dir":"packages/missing"}}}}"#,
    )
    .unwrap();
    assert!(live.reload().is_err());
    assert!(!police_on(&live));

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker
            .join()
            .expect("no evaluation failed while the host was reloaded");
    }
    assert!(done.load(Ordering::Relaxed) > 0);
}
