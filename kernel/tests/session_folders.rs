//! The kernels' folders in the temporary folder: a session folder private
//! to the user and removed after a killed kernel, and dependency builds
//! saved beside them for the next kernel.

mod common;

use common::{Kernel, Options};

/// Options of a kernel whose temporary folder is `dir`, shared with others.
fn sharing(dir: &std::path::Path) -> Options {
    Options {
        env: vec![("TMPDIR".into(), dir.display().to_string())],
        ..Options::default()
    }
}

/// What `dir` holds under names that start with `prefix`.
fn entries(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

/// A killed kernel cannot remove its build folder (about 100 MB); the next
/// kernel to start does, and keeps the folders of kernels still running.
#[tokio::test(flavor = "multi_thread")]
async fn folders_of_killed_kernels_are_removed() {
    let shared = tempfile::tempdir().expect("a shared temporary folder");
    let options = || sharing(shared.path());
    let sessions = || -> Vec<String> {
        entries(shared.path(), "asyncbook-")
            .iter()
            .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
            .collect()
    };
    let killed = Kernel::start_with(options()).await;
    let running = Kernel::start_with(options()).await;
    let of = |kernel: &Kernel| format!("asyncbook-{}-", kernel.pid());
    let (killed_prefix, running_prefix) = (of(&killed), of(&running));
    assert_eq!(sessions().len(), 2, "{:?}", sessions());

    drop(killed); // SIGKILL: no chance to clean up
    assert!(sessions().iter().any(|s| s.starts_with(&killed_prefix)));
    let _next = Kernel::start_with(options()).await;

    let left = sessions();
    assert!(
        !left.iter().any(|s| s.starts_with(&killed_prefix)),
        "the killed kernel's folder is still there: {left:?}"
    );
    assert!(
        left.iter().any(|s| s.starts_with(&running_prefix)),
        "a running kernel's folder was removed: {left:?}"
    );
    assert_eq!(left.len(), 2, "{left:?}");
    drop(running);
}

/// The first kernel saves the builds of tokio, futures and the cell library
/// beside the session folders; the next one starts from them instead of
/// building them again, and one whose saved builds lost files (a cleaner of
/// the temporary folder) builds what is missing.
#[tokio::test(flavor = "multi_thread")]
async fn later_kernels_start_from_the_saved_dependency_builds() {
    use std::path::{Path, PathBuf};
    let shared = tempfile::tempdir().expect("a shared temporary folder");
    let options = || sharing(shared.path());
    let in_shared = |prefix: &str| entries(shared.path(), prefix);
    // What a build script of tokio's dependencies printed: written when
    // it runs, in each session that builds the dependencies.
    let printed = |target: &Path| -> PathBuf {
        let builds = target.join("debug/build");
        std::fs::read_dir(&builds)
            .unwrap_or_else(|e| panic!("{}: {e}", builds.display()))
            .flatten()
            .map(|e| e.path().join("output"))
            .find(|p| p.to_string_lossy().contains("proc-macro2-") && p.is_file())
            .unwrap_or_else(|| panic!("no build script output in {}", builds.display()))
    };
    let written = |file: &Path| std::fs::metadata(file).unwrap().modified().unwrap();
    let cell = "let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);\n\
                tx.send(7).await.unwrap();\n\
                futures::future::ready(rx.recv().await).await";

    let mut first = Kernel::start_with(options()).await;
    assert_eq!(first.run(cell).await.result().as_deref(), Some("Some(7)"));
    let saved = in_shared("asyncbook.deps-");
    assert_eq!(saved.len(), 1, "{:?}", in_shared(""));
    let saved = &saved[0];
    let saved_output = printed(saved);
    let saved_at = written(&saved_output);
    drop(first);

    let mut second = Kernel::start_with(options()).await;
    assert_eq!(second.run(cell).await.result().as_deref(), Some("Some(7)"));
    let session = in_shared(&format!("asyncbook-{}-", second.pid()));
    let used = printed(&session[0].join("build/target"));
    assert_eq!(
        (used.parent().unwrap().file_name(), written(&used)),
        (saved_output.parent().unwrap().file_name(), saved_at),
        "the second kernel ran the build script again"
    );
    drop(second);

    std::fs::remove_file(&saved_output).unwrap();
    let mut third = Kernel::start_with(options()).await;
    assert_eq!(third.run(cell).await.result().as_deref(), Some("Some(7)"));
    let session = in_shared(&format!("asyncbook-{}-", third.pid()));
    let rerun = printed(&session[0].join("build/target"));
    assert!(written(&rerun) > saved_at, "{}", rerun.display());
    assert_eq!(in_shared("asyncbook.deps-"), std::slice::from_ref(saved));
}

/// The kernel's session folder (the cells' source, build products and the
/// output socket) is the user's alone, as Jupyter's runtime folder is.
#[tokio::test(flavor = "multi_thread")]
async fn the_session_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let kernel = Kernel::start().await;
    let session = std::fs::read_dir(kernel.dir())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("asyncbook-"))
        .expect("the session folder")
        .path();
    let mode = |path: &std::path::Path| {
        std::fs::symlink_metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&session), 0o700, "{}", session.display());
    assert_eq!(mode(&session.join("output.sock")), 0o600);
}
