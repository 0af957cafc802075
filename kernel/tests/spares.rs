//! Warm spares over the real protocol: a kernel started while a spare waits
//! is that spare, with the launching process's working directory and
//! environment; interrupts, shutdown and a killed launcher behave as for a
//! cold kernel; `asyncbook spares stop` leaves none. Each test keeps its
//! spares in a folder of its own and stops them at its end.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{alive, Kernel, Options, ANSWER};
use serde_json::json;

/// A spares folder of the test's own; its spares are stopped on drop, also
/// when the test fails.
struct Spares {
    folder: tempfile::TempDir,
    /// The kernels' temporary folder, which outlives each kernel (a spare
    /// keeps its session folder in the one of the kernel that started it).
    tmp: tempfile::TempDir,
}

impl Spares {
    fn new() -> Spares {
        Spares {
            folder: tempfile::Builder::new()
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .tempdir()
                .expect("a spares folder"),
            tmp: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// Options of a kernel with spares on, in this folder.
    fn options(&self, workdir: Option<PathBuf>, extra: &[(&str, &str)]) -> Options {
        let mut env = vec![
            ("ASYNCBOOK_SPARES".to_owned(), "1".to_owned()),
            ("ASYNCBOOK_SPARES_DIR".into(), self.folder_path()),
            ("ASYNCBOOK_SPARE_DELAY".into(), "0".into()),
            ("TMPDIR".into(), self.tmp.path().display().to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Options {
            env,
            workdir,
            ..Options::default()
        }
    }

    fn folder_path(&self) -> String {
        self.folder.path().display().to_string()
    }

    /// `asyncbook spares [args]` on this folder.
    fn command(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_asyncbook"))
            .arg("spares")
            .args(args)
            .env("ASYNCBOOK_SPARES_DIR", self.folder.path())
            .output()
            .expect("running asyncbook spares");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    /// The listed spares: pid and state.
    fn listed(&self) -> Vec<(u32, String)> {
        self.command(&[])
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields[1].parse().expect("a pid"), fields[3].to_owned())
            })
            .collect()
    }

    /// Waits until a spare is ready; its pid.
    async fn ready(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some((pid, _)) = self.listed().into_iter().find(|(_, s)| s == "ready") {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "no spare got ready: {:?}\n{}",
                self.listed(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_dir(self.folder.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect()
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- spares log ---\n{}", self.log());
        }
        let _ = Command::new(env!("CARGO_BIN_EXE_asyncbook"))
            .args(["spares", "stop"])
            .env("ASYNCBOOK_SPARES_DIR", self.folder.path())
            .output();
    }
}

/// Waits until none of `pids` is alive.
async fn gone(pids: &[u32], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|pid| alive(*pid)) {
        assert!(Instant::now() < deadline, "{what} still runs: {pids:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cell's working directory, the variable `SPARES_TEST_MARK`, and
/// the ids of its cell process and that process's parent (the kernel).
/// Nothing of the spare's own shows in the cell's environment.
async fn cell_view(kernel: &mut Kernel) -> (PathBuf, String, u32, u32) {
    let code = r#"println!("{}|{}|{}|{}|{:?}",
    std::env::current_dir().unwrap().display(),
    std::env::var("SPARES_TEST_MARK").unwrap_or_default(),
    std::process::id(),
    std::os::unix::process::parent_id(),
    std::env::vars().filter(|(k, _)| k.contains("ADOPT")).collect::<Vec<_>>());"#;
    let shown = kernel.run(code).await.stdout();
    let parts: Vec<&str> = shown.trim().split('|').collect();
    assert_eq!(parts.len(), 5, "{shown:?}");
    assert_eq!(parts[4], "[]", "the spare's own variables show: {shown:?}");
    (
        parts[0].into(),
        parts[1].to_owned(),
        parts[2].parse().expect("a pid"),
        parts[3].parse().expect("a pid"),
    )
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().expect("a folder")
}

/// A kernel started while a spare waits is that spare: its cells see the
/// launcher's working directory and environment; interrupts (by message and
/// by SIGINT to the launcher) keep the session; shutdown ends launcher,
/// spare and cell process.
#[tokio::test(flavor = "multi_thread")]
async fn a_warm_spare_becomes_the_next_kernel() {
    let spares = Spares::new();
    let mut first = Kernel::start_with(spares.options(None, &[])).await;
    assert_eq!(first.run("1 + 1").await.result().as_deref(), Some("2"));
    let (_, _, _, parent) = cell_view(&mut first).await;
    assert_eq!(parent, first.pid(), "the first kernel runs in its launcher");
    let spare = spares.ready().await;
    drop(first);

    let workdir = tempfile::tempdir().expect("a working directory");
    let options = spares.options(
        Some(workdir.path().into()),
        &[("SPARES_TEST_MARK", "launched here")],
    );
    let mut kernel = Kernel::start_with(options).await;
    let (cwd, mark, cell_process, parent) = cell_view(&mut kernel).await;
    assert_eq!(parent, spare, "the cells run under the spare");
    assert_eq!(cwd, canonical(workdir.path()));
    assert_eq!(mark, "launched here");
    assert!(
        !spares.listed().iter().any(|(pid, _)| *pid == spare),
        "a spare handed over is no longer listed"
    );

    kernel.run("let kept = 5;").await;
    let code = "println!(\"waiting\");\n\
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;";
    let id = kernel.start_cell(code, "waiting").await;
    kernel.signal_interrupt();
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    let id = kernel.start_cell(code, "waiting").await;
    let reply = kernel.control("interrupt_request", json!({})).await;
    assert_eq!(reply.content["status"], "ok");
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    assert_eq!(kernel.run("kept * 2").await.result().as_deref(), Some("10"));

    let reply = kernel
        .control("shutdown_request", json!({"restart": false}))
        .await;
    assert_eq!(reply.content["status"], "ok");
    let status = kernel
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("the launcher exits after shutdown");
    assert!(status.success(), "exit status {status:?}");
    gone(&[spare, cell_process], "the spare or its cell process").await;
}

/// A launcher killed with SIGKILL takes its spare and the cell process
/// along; `asyncbook spares stop` stops the spare waiting for the next
/// start.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_launcher_ends_its_spare_and_stop_leaves_none() {
    let spares = Spares::new();
    drop(Kernel::start_with(spares.options(None, &[])).await);
    let spare = spares.ready().await;
    let mut kernel = Kernel::start_with(spares.options(None, &[])).await;
    let (_, _, cell_process, parent) = cell_view(&mut kernel).await;
    assert_eq!(parent, spare, "the cells run under the spare");
    drop(kernel); // SIGKILL to the launcher
    gone(&[spare, cell_process], "the spare or its cell process").await;

    // The killed launcher had started the next spare.
    let next = spares.listed();
    assert_eq!(next.len(), 1, "one spare per key: {next:?}");
    let stopped = spares.command(&["stop"]);
    assert!(stopped.contains("stopped 1"), "{stopped}");
    assert!(spares.listed().is_empty());
    gone(&[next[0].0], "the stopped spare").await;
}

/// Another user cannot take a spare: even with its folder and socket opened
/// to everyone, the spare refuses a connection whose peer is not its owner
/// (`SO_PEERCRED`) and stays ready for its own user.
#[tokio::test(flavor = "multi_thread")]
async fn another_user_cannot_take_a_spare() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        // Only root can act as another user here; CI runs as root.
        eprintln!("skipped: acting as another user needs root");
        return;
    }
    let spares = Spares::new();
    drop(Kernel::start_with(spares.options(None, &[])).await);
    let spare = spares.ready().await;
    let socket = std::fs::read_dir(spares.folder.path())
        .expect("the spares folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
        .expect("the spare's socket");
    let open = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    open(spares.folder.path(), 0o777);
    open(&socket, 0o777);
    let tried = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(
            "import socket, sys\n\
             s = socket.socket(socket.AF_UNIX)\n\
             s.connect(sys.argv[1])\n\
             s.sendall(b'{}\\n')\n\
             s.settimeout(20)\n\
             try:\n    print(s.recv(4096) or 'closed')\n\
             except ConnectionResetError:\n    print('closed')",
        )
        .arg(&socket)
        .output()
        .expect("running python3 as another user");
    open(spares.folder.path(), 0o700);
    open(&socket, 0o600);
    assert!(tried.status.success(), "{tried:?}");
    assert_eq!(
        String::from_utf8_lossy(&tried.stdout).trim(),
        "closed",
        "the spare answered another user"
    );
    assert!(alive(spare), "the spare ended on a stranger's connection");
    assert_eq!(spares.listed(), [(spare, "ready".to_owned())]);
    assert!(
        spares.log().contains("refused a connection from uid 65534"),
        "{}",
        spares.log()
    );
}
