//! Any machine, any day: a session holds the cell library's versions of
//! every crate, whatever the registry published since the library was
//! built, needs no network once the library is built, and refuses a `:dep`
//! that would need a second copy of a library crate, going on without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Kernel, Options};

/// A crate tokio is built on, and an older release of it than the project's
/// lock holds: a library built with it is older than the registry's newest.
const CRATE: &str = "pin-project-lite";
const OLD: &str = "0.2.16";
/// A release newer than `OLD`, which a `:dep` asks for.
const NEWER: &str = "0.2.18";

/// The workspace's root folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the cell library as `make build` does, in `dir`, from a copy of the
/// workspace's lock with `CRATE` pinned back to `OLD`; its folder.
fn old_library(dir: &Path) -> PathBuf {
    let work = dir.join("workspace");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"cells\"]\n",
    )
    .unwrap();
    let copied = Command::new("cp")
        .args(["-r", "kernel/cells", "Cargo.lock"])
        .arg(&work)
        .current_dir(workspace())
        .status()
        .unwrap();
    assert!(copied.success());
    let cargo = || {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(&work)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env("RUSTFLAGS", "-C prefer-dynamic --cfg tokio_unstable");
        cargo
    };
    let pinned = cargo()
        .args(["update", "-p", CRATE, "--precise", OLD])
        .output()
        .unwrap();
    assert!(
        pinned.status.success(),
        "pinning {CRATE} {OLD}: {}",
        String::from_utf8_lossy(&pinned.stderr)
    );
    let built = cargo()
        .args(["build", "--release", "--locked", "-p", "asyncbook-cells"])
        .arg("--message-format=json-render-diagnostics")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "building the old library: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let library = dir.join("target/release");
    std::fs::write(library.join("asyncbook-artifacts.jsonl"), built.stdout).unwrap();
    std::fs::copy(work.join("Cargo.lock"), library.join("Cargo.lock")).unwrap();
    library
}

/// The version of `package` in the lock file of the kernel's session.
fn session_version(kernel: &Kernel, package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(kernel.session_dir().join("build/Cargo.lock")).unwrap();
    let header = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&header)? + header.len();
    Some(lock[start..].split('"').next()?.to_owned())
}

const SPAWN: &str = "let answer = tokio::spawn(async { 6 * 7 });\nanswer.await.unwrap()";

#[tokio::test(flavor = "multi_thread")]
async fn sessions_keep_the_library_versions_whatever_the_registry_has() {
    let scratch = tempfile::tempdir().unwrap();
    let library = old_library(scratch.path());
    let with = |extra: &[(&str, &str)]| {
        let mut env = vec![(
            "ASYNCBOOK_CELLS_DIR".to_owned(),
            library.display().to_string(),
        )];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Options {
            env,
            ..Options::default()
        }
    };

    let mut kernel = Kernel::start_with(with(&[])).await;
    assert_eq!(kernel.run("1 + 1").await.result().as_deref(), Some("2"));
    assert_eq!(kernel.run(SPAWN).await.result().as_deref(), Some("42"));
    assert_eq!(session_version(&kernel, CRATE).as_deref(), Some(OLD));

    // A `:dep` that needs a newer release of a crate under tokio, or more
    // features of one the library is built on: each refused with the crate
    // named, and the session goes on as it was.
    kernel.run("let kept = String::from(\"still here\");").await;
    let refusals = [
        (
            format!(":dep {CRATE} = \"={NEWER}\""),
            vec![CRATE, OLD, NEWER, "make build"],
        ),
        (
            ":dep serde_json = { version = \"1\", features = [\"preserve_order\"] }".to_owned(),
            vec![
                "serde_json",
                "`preserve_order`",
                "second copy",
                "make build",
            ],
        ),
    ];
    for (cell, expected) in refusals {
        let shown = kernel.execute(&cell).await.failed().shown();
        for expected in expected {
            assert!(shown.contains(expected), "{expected:?} missing: {shown}");
        }
        assert!(!shown.contains("TaskMeta"), "{shown}");
        assert_eq!(kernel.run(SPAWN).await.result().as_deref(), Some("42"));
    }
    assert_eq!(
        kernel.run("kept.len()").await.result().as_deref(),
        Some("10")
    );
    assert_eq!(session_version(&kernel, CRATE).as_deref(), Some(OLD));
    drop(kernel);

    // No network at all: everything the session needs is on the machine.
    let mut offline = Kernel::start_with(with(&[("CARGO_NET_OFFLINE", "true")])).await;
    assert_eq!(offline.run(SPAWN).await.result().as_deref(), Some("42"));
    assert_eq!(session_version(&offline, CRATE).as_deref(), Some(OLD));
}

/// A set-up that cannot work (here the library's lock file is damaged) fails
/// every cell with what broke, on lines of its own, and what to do; the
/// kernel itself stays up.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_set_up_says_what_broke_and_what_to_do() {
    let built = workspace().join("target/cells/release");
    let library = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&built).unwrap().flatten() {
        if entry.file_name() != "Cargo.lock" {
            std::os::unix::fs::symlink(entry.path(), library.path().join(entry.file_name()))
                .unwrap();
        }
    }
    std::fs::write(library.path().join("Cargo.lock"), "not a lock file\n").unwrap();
    let mut kernel = Kernel::start_with(Options {
        env: vec![(
            "ASYNCBOOK_CELLS_DIR".into(),
            library.path().display().to_string(),
        )],
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        let failed = kernel.execute("1 + 1").await.failed();
        let shown = failed.error_text();
        for expected in [
            "could not set up its cell library",
            "Cargo.lock",
            "make build",
        ] {
            assert!(shown.contains(expected), "{expected:?} missing: {shown}");
        }
        assert!(
            shown.lines().any(|l| l.starts_with("What to do:")),
            "{shown}"
        );
    }
    assert!(kernel.heartbeat(std::time::Duration::from_secs(5)).await);
}

/// Values of a `:dep` crate's types outlive a later `:dep`, one that brings
/// a proc macro (which rebuilds `syn` with more features) among them.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_dep_keeps_values_of_earlier_crates() {
    let mut kernel = Kernel::start().await;
    kernel.run(":dep tokio-util = \"0.7\"").await;
    kernel
        .run("let token = tokio_util::sync::CancellationToken::new();\nlet child = token.child_token();")
        .await;
    for dep in [":dep async-trait = \"0.1\"", ":dep itoa = \"1\""] {
        kernel.run(dep).await;
        assert_eq!(
            kernel.run("child.is_cancelled()").await.result().as_deref(),
            Some("false")
        );
    }
    assert_eq!(
        kernel
            .run("token.cancel();\nchild.is_cancelled()")
            .await
            .result()
            .as_deref(),
        Some("true")
    );
}
