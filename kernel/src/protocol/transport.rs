//! Sockets and signing: binds the five Jupyter channels, verifies each
//! incoming message's HMAC and turns frames into typed messages, which it
//! passes to and from the session over the channels of `wire`. Only this file
//! touches ZeroMQ; interpretation lives in `session`.

use anyhow::{Context, Result};
use bytes::Bytes;
use jupyter_protocol::{
    ConnectionInfo, Header, JupyterMessage, JupyterMessageContent, Transport, UnknownMessage,
};
use jupyter_zmq_client::{
    create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_xpub_connection, create_kernel_shell_connection,
    create_kernel_stdin_connection, KernelHeartbeatConnection, KernelIoPubXPubConnection,
    RawMessage, RouterRecvConnection, RouterSendConnection,
};
use serde_json::Value;
use zeromq::{SocketRecv, SocketSend};

use super::wire::{ChannelEnd, OutboundEnd, WireEnds, PROTOCOL_VERSION};

pub struct Sockets {
    shell: (RouterSendConnection, RouterRecvConnection),
    control: (RouterSendConnection, RouterRecvConnection),
    stdin: (RouterSendConnection, RouterRecvConnection),
    iopub: KernelIoPubXPubConnection,
    heartbeat: KernelHeartbeatConnection,
}

impl Sockets {
    pub async fn bind(info: &ConnectionInfo, session_id: &str) -> Result<Self> {
        if info.transport == Transport::IPC {
            remove_stale_sockets(info)?;
        }
        Ok(Sockets {
            shell: create_kernel_shell_connection(info, session_id)
                .await
                .context("binding shell")?
                .split(),
            control: create_kernel_control_connection(info, session_id)
                .await
                .context("binding control")?
                .split(),
            stdin: create_kernel_stdin_connection(info, session_id)
                .await
                .context("binding stdin")?
                .split(),
            iopub: create_kernel_iopub_xpub_connection(info, session_id)
                .await
                .context("binding iopub")?,
            heartbeat: create_kernel_heartbeat_connection(info)
                .await
                .context("binding heartbeat")?,
        })
    }

    /// Serves the sockets from now on: each channel's messages go to and
    /// come from `ends`; heartbeat is answered here.
    pub fn serve(self, ends: WireEnds) {
        tokio::spawn(serve_heartbeat(self.heartbeat));
        serve_router(self.shell, ends.shell, "shell");
        serve_router(self.control, ends.control, "control");
        serve_router(self.stdin, ends.stdin, "stdin");
        tokio::spawn(serve_iopub(self.iopub, ends.iopub));
    }
}

/// Passes a ROUTER channel's well-formed requests on, and sends its replies.
fn serve_router(
    (mut send, mut recv): (RouterSendConnection, RouterRecvConnection),
    end: ChannelEnd,
    channel: &'static str,
) {
    let ChannelEnd {
        incoming,
        mut outgoing,
    } = end;
    tokio::spawn(async move {
        loop {
            match next_request(&mut recv, channel).await {
                Ok(message) => {
                    if incoming.send(message).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!("{channel} socket failed: {error}");
                    return;
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some((message, sent)) = outgoing.recv().await {
            let result = send.send(message).await;
            if let Err(error) = &result {
                tracing::error!("could not send on {channel}: {error}");
            }
            let _ = sent.send(result.is_ok());
        }
    });
}

/// The next correctly signed, well-formed message on `channel`; the others
/// are logged, once each, and dropped.
async fn next_request(
    recv: &mut RouterRecvConnection,
    channel: &str,
) -> std::result::Result<JupyterMessage, zeromq::ZmqError> {
    loop {
        match receive(recv).await? {
            Ok(message) => return Ok(message),
            Err(Rejected::Signature(why)) => {
                tracing::warn!("{channel}: dropped a message with a bad signature ({why})")
            }
            Err(Rejected::Malformed(why)) => {
                tracing::warn!("{channel}: dropped a malformed message ({why})")
            }
        }
    }
}

/// Publishes what the session sends, in order, and greets new subscribers
/// with iopub_welcome.
async fn serve_iopub(mut iopub: KernelIoPubXPubConnection, mut outgoing: OutboundEnd) {
    loop {
        tokio::select! {
            biased;
            sending = outgoing.recv() => {
                let Some((message, sent)) = sending else { return };
                let _ = sent.send(publish(&mut iopub, message).await.is_ok());
            }
            event = iopub.recv_subscription() => {
                if let Ok(jupyter_zmq_client::SubscriptionEvent::Subscribe(topic)) = event {
                    let welcome = jupyter_protocol::IoPubWelcome { subscription: topic };
                    let _ = publish(&mut iopub, JupyterMessage::new(welcome, None)).await;
                }
            }
        }
    }
}

/// With the `ipc` transport each channel is a Unix socket at `{ip}-{port}`.
/// A kernel restarted on the same connection file (as jupyter_client does)
/// finds the sockets of the one before it if that one was killed; binding
/// replaces them, as libzmq does. Anything but a socket is left alone.
fn remove_stale_sockets(info: &ConnectionInfo) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let ports = [
        info.shell_port,
        info.iopub_port,
        info.stdin_port,
        info.control_port,
        info.hb_port,
    ];
    for port in ports {
        let path = format!("{}-{port}", info.ip);
        match std::fs::symlink_metadata(&path) {
            Ok(found) if found.file_type().is_socket() => std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale socket {path}"))?,
            Ok(_) => anyhow::bail!("{path} exists and is not a socket"),
            Err(_) => {}
        }
    }
    Ok(())
}

/// Why an incoming message was dropped.
#[derive(Debug)]
enum Rejected {
    /// Missing, malformed or wrong signature: never acted upon.
    Signature(String),
    /// Not a Jupyter message at all.
    Malformed(String),
}

/// Receives the next message from a ROUTER channel. Every message is checked
/// against the connection key before it is parsed; a request whose content
/// does not fit its type arrives as `UnknownMessage` with its routing ids, so
/// the loop can still answer it.
async fn receive(
    connection: &mut RouterRecvConnection,
) -> std::result::Result<Result<JupyterMessage, Rejected>, zeromq::ZmqError> {
    let frames = connection.socket.recv().await?;
    let raw = match RawMessage::from_multipart(frames, &connection.mac) {
        Ok(raw) => raw,
        Err(error) => {
            use jupyter_zmq_client::RuntimeError as E;
            let rejected = match error {
                E::MissingHmac | E::DecodeError(_) | E::VerifyError(_) => {
                    Rejected::Signature(error.to_string())
                }
                other => Rejected::Malformed(other.to_string()),
            };
            return Ok(Err(rejected));
        }
    };
    Ok(parse(raw))
}

fn parse(raw: RawMessage) -> Result<JupyterMessage, Rejected> {
    let part = |i: usize| -> Result<Value, Rejected> {
        serde_json::from_slice(&raw.jparts[i])
            .map_err(|e| Rejected::Malformed(format!("frame {i}: {e}")))
    };
    let header: Header = serde_json::from_value(part(0)?)
        .map_err(|e| Rejected::Malformed(format!("header: {e}")))?;
    let parent_header = serde_json::from_value(part(1)?).ok();
    let metadata = part(2).unwrap_or(Value::Object(Default::default()));
    let content = part(3)?;
    if !content.is_object() {
        return Err(Rejected::Malformed("content is not an object".into()));
    }
    let content = JupyterMessageContent::from_type_and_content(&header.msg_type, content.clone())
        .or_else(|_| {
            JupyterMessageContent::from_type_and_content(
                &header.msg_type,
                with_defaults(&header.msg_type, content.clone()),
            )
        })
        .unwrap_or_else(|_| {
            JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: header.msg_type.clone(),
                content,
            })
        });
    Ok(JupyterMessage {
        zmq_identities: raw.zmq_identities,
        header,
        parent_header,
        metadata,
        content,
        buffers: raw.jparts.get(4..).map(|b| b.to_vec()).unwrap_or_default(),
        channel: None,
    })
}

/// Clients leave out fields the protocol marks optional (jupyter_client's
/// history search omits `n`, `unique`, ...); fill them before typed parsing.
fn with_defaults(msg_type: &str, mut content: Value) -> Value {
    let defaults = match msg_type {
        "history_request" => serde_json::json!({
            "output": false, "raw": true, "session": 0, "start": 0, "stop": 0,
            "n": 1000, "pattern": "*", "unique": false, "hist_access_type": "tail"
        }),
        "execute_request" => serde_json::json!({
            "silent": false, "store_history": true, "user_expressions": {},
            "allow_stdin": true, "stop_on_error": true
        }),
        "inspect_request" => serde_json::json!({"detail_level": 0}),
        "comm_info_request" => serde_json::json!({}),
        _ => return content,
    };
    if let (Some(object), Some(defaults)) = (content.as_object_mut(), defaults.as_object()) {
        for (key, value) in defaults {
            object.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    content
}

/// Sends on iopub with a topic frame, as ipykernel does.
async fn publish(iopub: &mut KernelIoPubXPubConnection, mut message: JupyterMessage) -> Result<()> {
    let topic = format!("kernel.{}.{}", iopub.session_id, message.header.msg_type);
    message.header.version = PROTOCOL_VERSION.into();
    message.zmq_identities = vec![Bytes::from(topic)];
    iopub.send(message).await.context("publishing on iopub")
}

/// Answers pings on the heartbeat channel until the socket fails.
async fn serve_heartbeat(mut heartbeat: KernelHeartbeatConnection) {
    loop {
        let Ok(ping) = heartbeat.socket.recv().await else {
            return;
        };
        if heartbeat.socket.send(ping).await.is_err() {
            return;
        }
    }
}
