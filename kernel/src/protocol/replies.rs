//! Replies built from what the interpreter answered: kernel_info, completion,
//! inspection, unknown requests; and the conversions they share (MIME
//! bundles, cursor offsets).

use jupyter_protocol::{
    CodeMirrorMode, CompleteReply, HelpLink, InspectReply, JupyterMessageContent, KernelInfoReply,
    LanguageInfo, Media, ReplyStatus, UnknownMessage,
};
use serde_json::{Map, Value};

use super::interpreter::Completion;
use super::wire::PROTOCOL_VERSION;

/// The complete_reply for `found` (byte offsets) in `code`; `cursor` is
/// where the request asked, in bytes.
pub fn complete_reply(code: &str, cursor: usize, found: Option<Completion>) -> CompleteReply {
    let (matches, kinds, start, end) = match found {
        Some(found) => (found.matches, found.kinds, found.start, found.end),
        None => (vec![], vec![], cursor, cursor),
    };
    let (cursor_start, cursor_end) = (char_offset(code, start), char_offset(code, end));
    // JupyterLab and VS Code show each match's kind as an icon.
    let typed: Vec<Value> = matches
        .iter()
        .zip(kinds)
        .map(|(text, kind)| {
            serde_json::json!({
                "text": text, "type": kind, "start": cursor_start, "end": cursor_end,
            })
        })
        .collect();
    let mut metadata = Map::new();
    metadata.insert("_jupyter_types_experimental".into(), typed.into());
    CompleteReply {
        matches,
        cursor_start,
        cursor_end,
        metadata,
        status: ReplyStatus::Ok,
        error: None,
    }
}

pub fn inspect_reply(found: Option<String>) -> InspectReply {
    InspectReply {
        found: found.is_some(),
        data: media(
            found
                .map(|text| {
                    [("text/plain".to_owned(), Value::String(text))]
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default(),
        ),
        metadata: Map::new(),
        status: ReplyStatus::Ok,
        error: None,
    }
}

/// A reply for a request type this kernel does not know, where the protocol
/// names one (`x_request` → `x_reply`).
pub fn unknown_reply(unknown: &UnknownMessage) -> Option<JupyterMessageContent> {
    if !unknown.msg_type.ends_with("_request") {
        return None;
    }
    Some(unknown.reply(serde_json::json!({
        "status": "error",
        "ename": "UnknownRequest",
        "evalue": format!("asyncbook does not handle {}", unknown.msg_type),
        "traceback": [],
    })))
}

pub fn media(data: Map<String, Value>) -> Media {
    serde_json::from_value(Value::Object(data)).unwrap_or_default()
}

/// Jupyter counts cursor positions in code points; evcxr in bytes.
pub fn byte_offset(code: &str, chars: usize) -> usize {
    code.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(code.len())
}

fn char_offset(code: &str, bytes: usize) -> usize {
    code.get(..bytes.min(code.len()))
        .map(|s| s.chars().count())
        .unwrap_or(0)
}

/// The kernel_info reply. Protocol 5.5 lists optional features in
/// `supported_features` (this kernel has none: no debugger, no subshells),
/// a field the protocol crate's type does not carry yet.
pub fn kernel_info() -> JupyterMessageContent {
    let mut content = serde_json::to_value(kernel_info_fields()).unwrap_or_default();
    content["supported_features"] = Value::Array(Vec::new());
    JupyterMessageContent::UnknownMessage(UnknownMessage {
        msg_type: "kernel_info_reply".into(),
        content,
    })
}

fn kernel_info_fields() -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: PROTOCOL_VERSION.into(),
        implementation: "asyncbook".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "rust".into(),
            version: rustc_version(),
            mimetype: Some("text/rust".into()),
            file_extension: Some(".rs".into()),
            pygments_lexer: Some("rust".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("rust".into())),
            nbconvert_exporter: Some("rust".into()),
        },
        banner: "Asyncbook: async Rust cells on one shared tokio runtime".into(),
        help_links: vec![HelpLink {
            text: "tokio".into(),
            url: "https://docs.rs/tokio".into(),
        }],
        debugger: false,
        error: None,
    }
}

fn rustc_version() -> String {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| {
            std::process::Command::new("rustc")
                .arg("--version")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into())
        })
        .clone()
}
