//! The channels of typed messages between the sockets (`transport`) and the
//! session: what arrives on a channel, and what is sent on it, with word back
//! once the socket has taken it (so a reply follows the outputs before it).

use jupyter_protocol::{JupyterMessage, JupyterMessageContent};
use tokio::sync::{mpsc, oneshot};

/// The protocol version this kernel speaks: in kernel_info and in the
/// header of every message it sends.
pub const PROTOCOL_VERSION: &str = "5.5";

/// Requests waiting on a channel: a few, the rest stay in the socket.
const INCOMING: usize = 16;

/// A message in reply to `parent` (routing ids and parent header taken
/// from it), with this kernel's protocol version.
pub fn message(
    content: impl Into<JupyterMessageContent>,
    parent: &JupyterMessage,
) -> JupyterMessage {
    let mut message = JupyterMessage::new(content, Some(parent));
    message.header.version = PROTOCOL_VERSION.into();
    message
}

/// A message to send, and where to say whether the socket took it.
pub type Sending = (JupyterMessage, oneshot::Sender<bool>);

/// The sending side of a channel.
#[derive(Clone)]
pub struct Outbound(mpsc::UnboundedSender<Sending>);

/// The socket's side of an [`Outbound`].
pub type OutboundEnd = mpsc::UnboundedReceiver<Sending>;

/// The socket did not take the message.
#[derive(Debug)]
pub struct Unsent;

impl Outbound {
    /// Sends `message` and waits until the socket has taken it.
    pub async fn send(&self, message: JupyterMessage) -> Result<(), Unsent> {
        let (sent, taken) = oneshot::channel();
        self.0.send((message, sent)).map_err(|_| Unsent)?;
        match taken.await {
            Ok(true) => Ok(()),
            _ => Err(Unsent),
        }
    }
}

pub fn outbound() -> (Outbound, OutboundEnd) {
    let (send, end) = mpsc::unbounded_channel();
    (Outbound(send), end)
}

/// One of the request channels (shell, control, stdin), as the session sees it.
pub struct Channel {
    pub incoming: mpsc::Receiver<JupyterMessage>,
    pub outgoing: Outbound,
}

/// The same channel, as its socket sees it.
pub struct ChannelEnd {
    pub incoming: mpsc::Sender<JupyterMessage>,
    pub outgoing: OutboundEnd,
}

pub fn channel() -> (Channel, ChannelEnd) {
    let (incoming_send, incoming) = mpsc::channel(INCOMING);
    let (outgoing, outgoing_end) = outbound();
    (
        Channel { incoming, outgoing },
        ChannelEnd {
            incoming: incoming_send,
            outgoing: outgoing_end,
        },
    )
}

/// Every channel the session uses; heartbeat stays in `transport`.
pub struct Wire {
    pub shell: Channel,
    pub control: Channel,
    pub stdin: Channel,
    pub iopub: Outbound,
}

/// The sockets' (or a test's) ends of a [`Wire`].
pub struct WireEnds {
    pub shell: ChannelEnd,
    pub control: ChannelEnd,
    pub stdin: ChannelEnd,
    pub iopub: OutboundEnd,
}

pub fn wire() -> (Wire, WireEnds) {
    let (shell, shell_end) = channel();
    let (control, control_end) = channel();
    let (stdin, stdin_end) = channel();
    let (iopub, iopub_end) = outbound();
    (
        Wire {
            shell,
            control,
            stdin,
            iopub,
        },
        WireEnds {
            shell: shell_end,
            control: control_end,
            stdin: stdin_end,
            iopub: iopub_end,
        },
    )
}
