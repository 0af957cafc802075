//! Forged and malformed messages on shell, control and stdin: the kernel
//! drops them, stays up and lets no one in.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::{sign, Kernel, ANSWER};
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
