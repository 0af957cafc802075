//! Many kernels starting at once, as a CI machine running several notebook
//! jobs does. Alone in its test binary: eighteen warm-ups fill the machine,
//! and the other tests' timeouts are not written for that.

use std::path::Path;
use std::process::{Command, Stdio};

/// Eighteen kernels start at once (three runner processes, six notebooks
/// each, all at a time) and every one of them gets its own sockets: no
/// launch can take another's addresses.
#[test]
fn eighteen_kernels_started_together_all_run() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let notebook = repo.join("tests/runner/pass.ipynb");
    let copies = tempfile::tempdir().unwrap();
    for i in 0..6 {
        std::fs::copy(&notebook, copies.path().join(format!("copy-{i}.ipynb"))).unwrap();
    }
    let folder = copies.path().to_str().unwrap().to_owned();
    let runners: Vec<std::process::Child> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_asyncbook"))
                // Eighteen first cells share two cores: how long each takes is
                // `make bench`'s matter, that each answers is this test's.
                .args([
                    "test",
                    "-j",
                    "6",
                    "--startup-timeout",
                    "900",
                    "--timeout",
                    "600",
                    &folder,
                ])
                .current_dir(repo)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting asyncbook test")
        })
        .collect();
    for runner in runners {
        let output = runner
            .wait_with_output()
            .expect("waiting for asyncbook test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{said}");
        assert_eq!(
            stdout.lines().last(),
            Some("18 passed, 0 failed, 6 skipped"),
            "{said}"
        );
    }
}
