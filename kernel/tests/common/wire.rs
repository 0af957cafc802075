//! Signed messages over the kernel's sockets: building and sending them,
//! and reading what comes back on shell, control, stdin, iopub and
//! heartbeat.

use std::time::{Duration, Instant};

use bytes::Bytes;
use jupyter_zmq_client::{Connection, RawMessage};
use serde_json::{json, Value};
use tokio::time::timeout;
use zeromq::{DealerSocket, SocketRecv, SocketSend, ZmqMessage};

use super::{random_hex, Kernel, Msg};

impl Kernel {
    /// A signed message, as frames after the routing ids.
    pub fn frames(&self, msg_type: &str, content: &Value) -> (String, Vec<Bytes>) {
        let id = format!("{}-{}", msg_type, random_hex(8));
        let header = json!({
            "msg_id": id,
            "username": "test",
            "session": self.session,
            "date": "2024-01-01T00:00:00.000000Z",
            "msg_type": msg_type,
            "version": "5.3",
        });
        let parts: Vec<Bytes> = [header, json!({}), json!({}), content.clone()]
            .iter()
            .map(|v| Bytes::from(v.to_string()))
            .collect();
        let signature = sign(&self.info.key, &parts);
        let mut frames = vec![Bytes::from_static(b"<IDS|MSG>"), Bytes::from(signature)];
        frames.extend(parts);
        (id, frames)
    }

    pub async fn send_shell(&mut self, msg_type: &str, content: Value) -> String {
        let (id, frames) = self.frames(msg_type, &content);
        self.send_frames_shell(frames).await;
        id
    }

    pub async fn send_control(&mut self, msg_type: &str, content: Value) -> String {
        let (id, frames) = self.frames(msg_type, &content);
        self.send_frames_control(frames).await;
        id
    }

    pub async fn send_frames_shell(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.shell, frames, "shell").await;
    }

    pub async fn send_frames_control(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.control, frames, "control").await;
    }

    pub async fn send_frames_stdin(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.stdin, frames, "stdin").await;
    }

    /// The next shell message, or `None` after `wait`.
    pub async fn next_shell(&mut self, wait: Duration) -> Option<Msg> {
        receive(&mut self.shell, wait, "shell").await
    }

    /// The shell reply to request `id`; panics after `wait`.
    pub async fn shell_reply(&mut self, id: &str, wait: Duration) -> Msg {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = self.next_shell(left).await.unwrap_or_else(|| {
                panic!(
                    "no shell reply to {id} within {wait:?}; log:\n{}",
                    self.log()
                )
            });
            if reply.parent_id() == Some(id) {
                return reply;
            }
        }
    }

    pub async fn control_reply(&mut self, id: &str, wait: Duration) -> Msg {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = receive(&mut self.control, left, "control")
                .await
                .unwrap_or_else(|| panic!("no control reply to {id} within {wait:?}"));
            if reply.parent_id() == Some(id) {
                return reply;
            }
        }
    }

    /// The next message on stdin (an input_request), or `None` after `wait`.
    pub async fn next_stdin(&mut self, wait: Duration) -> Option<Msg> {
        receive(&mut self.stdin, wait, "stdin").await
    }

    /// Answers an input_request.
    pub async fn input_reply(&mut self, request: &Msg, value: &str) {
        let (_, mut frames) = self.frames("input_reply", &json!({"value": value}));
        // The parent header is frame 3 (after delimiter, signature, header).
        frames[3] = Bytes::from(request.header.to_string());
        let parts = frames[2..6].to_vec();
        frames[1] = Bytes::from(sign(&self.info.key, &parts));
        self.send_frames_stdin(frames).await;
    }

    pub(super) async fn recv_iopub(&mut self) -> Option<Msg> {
        let frames = self.iopub.socket.recv().await.ok()?;
        let raw =
            RawMessage::from_multipart(frames, &self.iopub.mac).expect("a signed message on iopub");
        Some(Msg::from_raw(raw))
    }

    /// Reads and discards shell replies and iopub messages until neither
    /// socket has had anything for `quiet`, as a client that keeps up does.
    /// Returns how many messages were discarded.
    pub async fn drain(&mut self, quiet: Duration) -> usize {
        self.strays.clear();
        let mut discarded = 0;
        loop {
            let read = tokio::select! {
                shell = self.shell.socket.recv() => shell.is_ok(),
                iopub = self.iopub.socket.recv() => iopub.is_ok(),
                _ = tokio::time::sleep(quiet) => false,
            };
            if !read {
                return discarded;
            }
            discarded += 1;
        }
    }

    /// The next iopub message (earlier strays first), or `None` after `wait`.
    pub async fn next_iopub(&mut self, wait: Duration) -> Option<Msg> {
        if !self.strays.is_empty() {
            return Some(self.strays.remove(0));
        }
        timeout(wait, self.recv_iopub()).await.ok().flatten()
    }

    /// The first iopub message matching `wanted` within `wait`; others read
    /// on the way are kept as strays.
    pub async fn wait_iopub(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&Msg) -> bool,
    ) -> Option<Msg> {
        if let Some(at) = self.strays.iter().position(&wanted) {
            return Some(self.strays.remove(at));
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = timeout(left, self.recv_iopub()).await.ok().flatten()?;
            if wanted(&message) {
                return Some(message);
            }
            self.strays.push(message);
        }
    }

    /// iopub messages with parent `id` up to and including its idle status.
    pub async fn iopub_until_idle(&mut self, id: &str, wait: Duration) -> Vec<Msg> {
        let mut mine = Vec::new();
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = timeout(left, self.recv_iopub())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    panic!(
                        "no idle for {id} within {wait:?}; got so far: {mine:#?}\nlog:\n{}",
                        self.log()
                    )
                });
            if message.parent_id() != Some(id) {
                self.strays.push(message);
                continue;
            }
            let idle = message.state() == Some("idle");
            mine.push(message);
            if idle {
                return mine;
            }
        }
    }

    /// One heartbeat round trip: whether the ping came back unchanged.
    pub async fn heartbeat(&mut self, wait: Duration) -> bool {
        let ping = format!("ping-{}", random_hex(4));
        let exchange = async {
            self.heartbeat
                .socket
                .send(ZmqMessage::from(ping.clone().into_bytes()))
                .await
                .ok()?;
            self.heartbeat.socket.recv().await.ok()
        };
        match timeout(wait, exchange).await {
            Ok(Some(pong)) => pong.get(0).map(|b| &b[..]) == Some(ping.as_bytes()),
            _ => false,
        }
    }
}

/// Sends frames (those after the routing id) on a shell, control or stdin
/// connection.
async fn send_frames(channel: &mut Connection<DealerSocket>, frames: Vec<Bytes>, name: &str) {
    let message = ZmqMessage::try_from(frames).expect("frames");
    channel
        .socket
        .send(message)
        .await
        .unwrap_or_else(|e| panic!("sending on {name}: {e}"));
}

/// The next message on a shell, control or stdin connection, which must be
/// signed with the session's key; `None` after `wait`.
async fn receive(
    channel: &mut Connection<DealerSocket>,
    wait: Duration,
    name: &str,
) -> Option<Msg> {
    let frames = timeout(wait, channel.socket.recv()).await.ok()?;
    let frames = frames.unwrap_or_else(|e| panic!("{name} socket: {e}"));
    let raw = RawMessage::from_multipart(frames, &channel.mac)
        .unwrap_or_else(|e| panic!("a signed message on {name}: {e}"));
    Some(Msg::from_raw(raw))
}

/// HMAC-SHA256 of the four signed parts, hex; empty when the key is empty.
pub fn sign(key: &str, parts: &[Bytes]) -> String {
    if key.is_empty() {
        return String::new();
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let mut context = ring::hmac::Context::with_key(&key);
    for part in &parts[..4] {
        context.update(part);
    }
    context
        .sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
