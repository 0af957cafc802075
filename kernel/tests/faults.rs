//! Faults, bad input and signing: the kernel survives, loses nothing and
//! lets no one in.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{alive, descendants, sign, Kernel, Options, ANSWER};
use serde_json::{json, Value};

/// A cell that would leave a file behind if it ever ran.
fn create_file(path: &Path) -> Value {
    let code = format!(
        "std::fs::write({:?}, \"ran\").unwrap();",
        path.display().to_string()
    );
    json!({"code": code, "silent": false, "store_history": true,
           "user_expressions": {}, "allow_stdin": false, "stop_on_error": true})
}

/// Ways to spoil a signed message's signature frame.
fn forgeries(frames: &[Bytes]) -> Vec<(&'static str, Vec<Bytes>)> {
    let with_signature = |signature: Bytes| {
        let mut forged = frames.to_vec();
        forged[1] = signature;
        forged
    };
    let mut tampered = frames.to_vec();
    tampered[4] = Bytes::from_static(b"{\"changed\": true}");
    let mut unsigned = frames.to_vec();
    unsigned.remove(1);
    vec![
        ("empty signature", with_signature(Bytes::new())),
        (
            "wrong signature",
            with_signature(Bytes::from("0".repeat(64))),
        ),
        ("not hex", with_signature(Bytes::from("signature"))),
        (
            "another key",
            with_signature(Bytes::from(sign("another key", &frames[2..6]))),
        ),
        ("metadata changed after signing", tampered),
        ("no signature frame", unsigned),
    ]
}

/// Deterministic pseudo-random numbers for the malformed-input cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Up to `max` random bytes.
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        (0..self.below(max)).map(|_| self.next() as u8).collect()
    }
    /// Up to `max` printable characters.
    fn text(&mut self, max: u64) -> String {
        (0..self.below(max))
            .map(|_| char::from(b' ' + self.below(95) as u8))
            .collect()
    }
    /// Any JSON value, with strings possibly huge.
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 2 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(self.text(20)),
            4 if self.below(20) == 0 => json!("h".repeat(256 * 1024)),
            4 => json!(-1.5e300),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => self.object(depth + 1),
        }
    }
    /// An object with protocol-looking keys holding values of any type. No
    /// key is `code`, so no generated request can run a cell.
    fn object(&mut self, depth: u32) -> Value {
        const KEYS: [&str; 16] = [
            "comm_id",
            "target_name",
            "data",
            "n",
            "start",
            "stop",
            "pattern",
            "unique",
            "restart",
            "cursor_pos",
            "detail_level",
            "silent",
            "value",
            "hist_access_type",
            "session",
            "output",
        ];
        let mut object = serde_json::Map::new();
        for _ in 0..self.below(5) {
            let key = KEYS[self.below(KEYS.len() as u64) as usize];
            object.insert(key.to_owned(), self.value(depth));
        }
        Value::Object(object)
    }
}

/// Request types sent with malformed content (shutdown is left out: a
/// well-formed one would end the session, as it should).
const MSG_TYPES: [&str; 14] = [
    "kernel_info_request",
    "execute_request",
    "complete_request",
    "inspect_request",
    "history_request",
    "is_complete_request",
    "comm_info_request",
    "comm_open",
    "comm_msg",
    "comm_close",
    "interrupt_request",
    "input_reply",
    "made_up_request",
    "",
];

/// One malformed multipart message: frames after the routing id.
fn malformed(rng: &mut Rng, kernel: &Kernel) -> Vec<Bytes> {
    let msg_type = MSG_TYPES[rng.below(MSG_TYPES.len() as u64) as usize];
    let content = rng.object(0);
    let (_, mut frames) = kernel.frames(msg_type, &content);
    let resign = |frames: &mut Vec<Bytes>| {
        frames[1] = Bytes::from(sign(&kernel.info.key, &frames[2..6]));
    };
    match rng.below(8) {
        // Random frames, with or without a delimiter somewhere.
        0 => {
            let mut random: Vec<Bytes> = (0..rng.below(8))
                .map(|_| Bytes::from(rng.bytes(64)))
                .collect();
            if rng.below(2) == 0 {
                let at = rng.below(random.len() as u64 + 1) as usize;
                random.insert(at, Bytes::from_static(b"<IDS|MSG>"));
            }
            if random.is_empty() {
                random.push(Bytes::new());
            }
            return random;
        }
        // Signed frames that are not JSON.
        1 => {
            let part = 2 + rng.below(4) as usize;
            frames[part] = Bytes::from(rng.bytes(100));
            resign(&mut frames);
        }
        // Signed JSON cut short.
        2 => {
            let part = 2 + rng.below(4) as usize;
            let cut = rng.below(frames[part].len() as u64) as usize;
            frames[part] = frames[part].slice(..cut);
            resign(&mut frames);
        }
        // A header with fields of the wrong type or missing.
        3 => {
            let mut header: Value = serde_json::from_slice(&frames[2]).unwrap();
            let field = [
                "msg_id", "msg_type", "session", "date", "version", "username",
            ][rng.below(6) as usize];
            if rng.below(3) == 0 {
                header.as_object_mut().unwrap().remove(field);
            } else {
                header[field] = rng.value(1);
            }
            frames[2] = Bytes::from(header.to_string());
            resign(&mut frames);
        }
        // Content that is not an object, or a huge msg_type.
        4 => {
            frames[5] = Bytes::from(rng.value(1).to_string());
            resign(&mut frames);
        }
        5 => {
            let mut header: Value = serde_json::from_slice(&frames[2]).unwrap();
            header["msg_type"] = json!(format!("{}_request", "x".repeat(64 * 1024)));
            frames[2] = Bytes::from(header.to_string());
            resign(&mut frames);
        }
        // Too few frames after the signature.
        6 => frames.truncate(2 + rng.below(4) as usize),
        // Well framed and signed, content of the wrong shape (as generated).
        _ => {}
    }
    frames
}

/// Signing on shell, control and stdin; malformed frames and JSON on shell
/// and control; unknown requests answered.
#[tokio::test(flavor = "multi_thread")]
async fn forged_and_malformed_messages_are_dropped() {
    let mut kernel = Kernel::start().await;
    let dir = kernel.dir().to_owned();

    // The probe cell works when signed properly...
    let genuine = dir.join("genuine");
    let (reply, _) = kernel
        .request("execute_request", create_file(&genuine))
        .await;
    assert_eq!(reply.content["status"], "ok", "{reply:?}");
    assert!(genuine.exists(), "the probe cell did not create its file");

    // ...but no forged execute_request runs on shell.
    let methods = forgeries(&kernel.frames("kernel_info_request", &json!({})).1).len();
    let mut attempts = Vec::new();
    for i in 0..methods {
        let path = dir.join(format!("shell-{i}"));
        let (_, frames) = kernel.frames("execute_request", &create_file(&path));
        let (why, forged) = forgeries(&frames).swap_remove(i);
        kernel.send_frames_shell(forged).await;
        attempts.push((why, path));
    }
    let check = kernel.run("1 + 1").await;
    assert_eq!(check.result().as_deref(), Some("2"));
    for (why, path) in &attempts {
        assert!(!path.exists(), "{why}: the forged cell ran");
    }
    let shell_forgeries = attempts.len();

    // Control: a forged shutdown_request or kernel_info_request is ignored.
    let mut control_forgeries = 0;
    for msg_type in ["shutdown_request", "kernel_info_request"] {
        let (_, frames) = kernel.frames(msg_type, &json!({"restart": false}));
        for (_, forged) in forgeries(&frames) {
            kernel.send_frames_control(forged).await;
            control_forgeries += 1;
        }
    }
    let id = kernel.send_control("kernel_info_request", json!({})).await;
    let reply = kernel.control_reply(&id, ANSWER).await;
    assert_eq!(reply.content["status"], "ok");
    assert!(
        kernel.heartbeat(ANSWER).await,
        "a forged shutdown was obeyed"
    );

    // Stdin: a forged input_reply does not answer the cell.
    let code = "let answer: String = asyncbook::input::input(\"word\");\n\
                println!(\"got {answer}\");";
    let id = kernel.submit(code, true).await;
    let ask = kernel.next_stdin(ANSWER).await.expect("an input_request");
    let (_, mut frames) = kernel.frames("input_reply", &json!({"value": "forged"}));
    frames[3] = Bytes::from(ask.header.to_string());
    frames[1] = Bytes::from(sign("another key", &frames[2..6]));
    kernel.send_frames_stdin(frames).await;
    kernel.input_reply(&ask, "genuine").await;
    let answered = kernel.finish(code, &id, ANSWER).await.ok();
    assert_eq!(answered.stdout(), "got genuine\n");

    // Each rejection is logged once, with its reason and without the key.
    let log = kernel.log();
    let count = |channel: &str| {
        log.lines()
            .filter(|l| l.contains(channel) && l.contains("bad signature"))
            .count()
    };
    assert!(!log.contains(&kernel.info.key), "the key is in the log");
    // "no signature frame" is rejected as malformed rather than as unsigned.
    assert_eq!(count("shell:"), shell_forgeries - 1, "{log}");
    assert_eq!(count("control:"), control_forgeries - 2, "{log}");
    assert_eq!(count("stdin:"), 1, "{log}");

    // Malformed input on shell and control, read from as a client does
    // (iopub and shell are drained between bursts, small enough for the
    // Unix socket buffers the test kernel's channels use).
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for sent in 0..10_000 {
        if sent % 50 == 0 {
            kernel.drain(Duration::from_millis(50)).await;
        }
        let frames = malformed(&mut rng, &kernel);
        if rng.below(2) == 0 {
            kernel.send_frames_shell(frames).await;
        } else {
            kernel.send_frames_control(frames).await;
        }
    }
    kernel.drain(Duration::from_millis(50)).await;
    let id = kernel.send_shell("kernel_info_request", json!({})).await;
    let reply = kernel.shell_reply(&id, ANSWER).await;
    assert_eq!(reply.content["status"], "ok");
    let id = kernel.send_control("kernel_info_request", json!({})).await;
    kernel.control_reply(&id, ANSWER).await;
    assert!(kernel.heartbeat(ANSWER).await);

    // Unknown requests get an error reply of the matching type.
    let (reply, _) = kernel.request("made_up_request", json!({})).await;
    assert_eq!(reply.msg_type(), "made_up_reply");
    assert_eq!(reply.content["status"], "error");
    let reply = kernel.control("made_up_request", json!({})).await;
    assert_eq!(reply.msg_type(), "made_up_reply");
    assert_eq!(reply.content["status"], "error");

    // And cells still run, after all that.
    let check = kernel.run("20 + 2").await;
    assert_eq!(check.result().as_deref(), Some("22"));
}

/// Cell failures leave a working kernel that says what was lost; 50 MB of
/// output keeps heartbeat answering; shutdown leaves nothing behind. Runs
/// with an empty key (no signing).
#[tokio::test(flavor = "multi_thread")]
async fn cell_failures_output_floods_and_shutdown() {
    let mut kernel = Kernel::start_with(Options {
        key: Some(String::new()),
        ..Options::default()
    })
    .await;
    assert_eq!(kernel.info.key, "");
    kernel
        .run("fn helper() -> u32 { 7 }\nlet kept = 1u32;")
        .await;

    let compile = kernel.execute("let x: u32 = ();").await.failed();
    assert!(
        compile.error_text().contains("mismatched types"),
        "{compile:?}"
    );
    let panic = kernel.execute("panic!(\"deliberate\");").await.failed();
    // Where it panicked, in the notebook's terms: the cell and its line.
    let at = format!("deliberate at [{}] line 1", panic.count());
    assert!(panic.shown().contains(&at), "{panic:?}");
    let defined = kernel
        .run("fn pick(at: usize) -> u32 {\n    [1, 2][at]\n}")
        .await;
    let picked = kernel.execute("pick(5)").await.failed();
    let at = format!("the index is 5 at [{}] line 2", defined.count());
    assert!(picked.shown().contains(&at), "{picked:?}");
    assert_eq!(
        kernel.run("kept + helper()").await.result().as_deref(),
        Some("8")
    );
    // An earlier value moved into a failing cell is dropped with it, and the
    // failure names it; the rest stay.
    kernel
        .run("let handed = vec![1u8];\nlet lent = String::from(\"x\");")
        .await;
    let panic = kernel
        .execute("let mine = handed;\nif mine.len() == 1 { panic!(\"after the move\"); }")
        .await
        .failed();
    assert!(
        panic
            .error_text()
            .contains("earlier variables are kept, except `handed`, moved into this cell"),
        "{panic:?}"
    );
    let returned = kernel
        .execute("let mine = lent;\nlet n: u32 = mine.parse()?;")
        .await
        .failed();
    assert!(
        returned
            .error_text()
            .contains("earlier variables are kept, except `lent`, moved into this cell"),
        "{returned:?}"
    );
    assert_eq!(kernel.run("kept").await.result().as_deref(), Some("1"));

    // Each of these ends the cell process: status error, the loss is said,
    // and the next cell runs (items kept).
    for code in [
        "std::process::abort();",
        "std::process::exit(3);",
        "unsafe { std::ptr::write_volatile(8 as *mut u8, 1) };",
        "fn down(n: u64) -> u64 { if n == 0 { 0 } else { 1 + down(n - 1) } }\n\
         down(u64::MAX)",
    ] {
        kernel.run("let kept = 1u32;").await;
        let died = kernel.execute(code).await.failed();
        let said = died.error_text();
        assert!(said.contains("variables"), "{died:?}");
        assert!(said.contains("lost"), "{died:?}");
        assert_eq!(
            kernel.run("helper() + 1").await.result().as_deref(),
            Some("8")
        );
    }

    // 50 MB of output: heartbeat answers throughout, the cell finishes.
    let code = "let line = \"x\".repeat(1023);\n\
                for _ in 0..(50 * 1024) { println!(\"{line}\"); }";
    let id = kernel.submit(code, false).await;
    let mut shown = 0usize;
    let mut notice = false;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(
            kernel.heartbeat(Duration::from_secs(10)).await,
            "heartbeat stopped while the cell printed"
        );
        let mut idle = false;
        while let Some(message) = kernel.next_iopub(Duration::from_millis(100)).await {
            if message.parent_id() != Some(id.as_str()) {
                continue;
            }
            if let Some(text) = message.content["text"].as_str() {
                shown += text.len();
                notice |= text.contains("truncated");
            }
            if message.state() == Some("idle") {
                idle = true;
                break;
            }
        }
        if idle {
            break;
        }
        assert!(Instant::now() < deadline, "the 50 MB cell did not finish");
    }
    let reply = kernel.shell_reply(&id, ANSWER).await;
    assert_eq!(reply.content["status"], "ok");
    assert!(shown > 1024 * 1024, "only {shown} bytes shown");
    assert!(
        notice || shown >= 50 * 1024 * 1024,
        "output lost without notice"
    );

    // Shutdown: the reply, then no process and no temporary files left.
    let children = descendants(kernel.pid());
    assert!(!children.is_empty(), "no cell process found");
    let reply = kernel
        .control("shutdown_request", json!({"restart": false}))
        .await;
    assert_eq!(reply.content["restart"], false);
    let status = kernel.wait_exit(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    wait_gone(&children).await;
    let left: Vec<_> = std::fs::read_dir(kernel.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // Only the dependency builds saved for the next kernel stay.
        .filter(|name| name.starts_with("asyncbook") && !name.starts_with("asyncbook.deps-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Processes that must end soon after the kernel.
async fn wait_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&pid| alive(pid)) {
        assert!(
            Instant::now() < deadline,
            "left running: {:?}",
            pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The kernel exits when the process named by JPY_PARENT_PID dies, and
/// takes its cell process with it.
#[tokio::test(flavor = "multi_thread")]
async fn kernel_exits_when_its_parent_dies() {
    let mut parent = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("a stand-in parent process");
    let mut kernel = Kernel::start_with(Options {
        env: vec![("JPY_PARENT_PID".into(), parent.id().to_string())],
        ..Options::default()
    })
    .await;
    kernel.run("let started = 1;").await;
    let children = descendants(kernel.pid());
    assert!(!children.is_empty(), "no cell process found");

    parent.kill().expect("ending the parent");
    parent.wait().expect("reaping the parent");
    let gone = Instant::now();
    let status = kernel.wait_exit(Duration::from_secs(30)).await;
    let took = gone.elapsed();
    assert!(status.is_some(), "the kernel outlived its parent");
    // The issue asks for 5 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    wait_gone(&children).await;
}

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

/// The kernel's own stderr, which a terminal client (`jupyter console`)
/// shares with the user's prompt, stays empty at the default log level
/// through start, warm-up (the dependency builds of the first cells) and
/// cells that print.
#[tokio::test(flavor = "multi_thread")]
async fn the_kernel_keeps_its_own_stderr_quiet() {
    let mut kernel = Kernel::start_with(Options {
        env: vec![("ASYNCBOOK_LOG".into(), "asyncbook=info".into())],
        ..Options::default()
    })
    .await;
    kernel
        .run("tokio::time::sleep(std::time::Duration::from_millis(1)).await;")
        .await;
    kernel
        .run("let (tx, rx) = tokio::sync::mpsc::channel::<u8>(1);\neprintln!(\"to the notebook\");")
        .await;
    let printed = kernel.run("println!(\"{}\", 1 + 1);").await;
    assert_eq!(printed.stdout(), "2\n");
    assert_eq!(
        kernel.log(),
        "",
        "the kernel wrote to its own stdout or stderr"
    );
}
