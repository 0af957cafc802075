//! Output of cell processes: frames from the output socket turned into
//! streams, displays, and the running cell's pages and flags (`CellState`).

use std::os::unix::net::UnixListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::engine::outcome::Output;
use crate::engine::run::frames::{read_frame, Frame};
use crate::engine::run::shared::{signal_cell, Shared};
use crate::lock::lock;

pub(crate) fn spawn_output_listener(
    listener: UnixListener,
    outputs: mpsc::UnboundedSender<Output>,
    shared: Arc<Shared>,
) {
    std::thread::Builder::new()
        .name("asyncbook-output".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let outputs = outputs.clone();
                let shared = shared.clone();
                std::thread::spawn(move || read_cell_output(stream, outputs, shared));
            }
        })
        .expect("spawning the output listener");
}

/// Turns frames from one cell process (or rustc wrapper) into outputs.
fn read_cell_output(
    mut stream: std::os::unix::net::UnixStream,
    outputs: mpsc::UnboundedSender<Output>,
    shared: Arc<Shared>,
) {
    let mut stdout = Utf8Carry::default();
    let mut stderr = Utf8Carry::default();
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        match frame {
            Frame::Stdout(bytes) => {
                let text = stdout.push(&bytes);
                if !text.is_empty() {
                    let _ = outputs.send(Output::Stdout(text));
                }
            }
            Frame::Stderr(bytes) => {
                let text = stderr.push(&bytes);
                if !text.is_empty() {
                    let _ = outputs.send(Output::Stderr(text));
                }
            }
            Frame::Display(json) => match display_output(&json) {
                Some(Shown::Output(output)) => {
                    let _ = outputs.send(output);
                }
                Some(Shown::Page(data)) => lock(&shared.cell().pages).push(data),
                None => {}
            },
            Frame::Panicked => shared.cell().panicked.store(true, Ordering::SeqCst),
            Frame::ReturnedError => shared.cell().returned_error.store(true, Ordering::SeqCst),
            Frame::CellStarted => {
                tracing::debug!("cell started");
                let cell = shared.cell();
                cell.started.store(true, Ordering::SeqCst);
                if let Some(warnings) = shared.warnings.take_due(&cell) {
                    let _ = outputs.send(Output::Stderr(warnings));
                }
                if cell.interrupt_pending.swap(false, Ordering::SeqCst) {
                    signal_cell(&shared);
                }
            }
            Frame::PanicMessage(json) => {
                let report: Value = serde_json::from_slice(&json).unwrap_or_default();
                let message = format!(
                    "{}{}",
                    report["message"].as_str().unwrap_or("(no message)"),
                    report["location"].as_str().unwrap_or_default()
                );
                *lock(&shared.cell().panic_message) = Some(message);
            }
            Frame::VariableLost(name) => {
                lock(&shared.cell().lost).push(String::from_utf8_lossy(&name).into_owned());
            }
            Frame::Fence => {
                let _guard = shared.fence_signal.0.lock();
                shared.fences.fetch_add(1, Ordering::SeqCst);
                shared.fence_signal.1.notify_all();
            }
        }
    }
}

/// Decodes UTF-8 that may be split across frames.
#[derive(Default)]
struct Utf8Carry(Vec<u8>);

impl Utf8Carry {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.0) {
            Ok(_) => self.0.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.0.len(),
        };
        let rest = self.0.split_off(valid);
        let text = String::from_utf8_lossy(&self.0).into_owned();
        self.0 = rest;
        text
    }
}

/// Where a display message from the cell library goes.
enum Shown {
    Output(Output),
    /// Pager text travels in the execute reply's payload.
    Page(Map<String, Value>),
}

fn display_output(json: &[u8]) -> Option<Shown> {
    let message: Value = serde_json::from_slice(json).ok()?;
    let data_of = |body: &Value| body["data"].as_object().cloned().unwrap_or_default();
    let output = if let Some(body) = message.get("display") {
        Output::Display {
            data: data_of(body),
            display_id: body["display_id"].as_str().map(str::to_owned),
        }
    } else if let Some(body) = message.get("update") {
        Output::Update {
            data: data_of(body),
            display_id: body["display_id"].as_str()?.to_owned(),
        }
    } else if let Some(body) = message.get("clear") {
        Output::Clear {
            wait: body["wait"].as_bool().unwrap_or(false),
        }
    } else {
        return Some(Shown::Page(data_of(message.get("page")?)));
    };
    Some(Shown::Output(output))
}
