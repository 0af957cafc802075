//! Asking the notebook's user for a line of input (Jupyter's stdin channel).
//!
//! The request goes to the kernel as a protocol line on stdout; the kernel
//! forwards it as an `input_request` and writes the answer to the cell
//! process's stdin, one line. Outside a kernel the prompt goes to stdout and
//! the line comes from stdin, as a console program asks.

use std::io::Read;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// Protocol lines the kernel's engine (evcxr) turns into input requests.
const ASK: &str = "EVCXR_INPUT_REQUEST";
const ASK_PASSWORD: &str = "EVCXR_INPUT_REQUEST_PASSWORD";

/// Shows `prompt` and returns the line the user typed (empty when the
/// frontend does not accept input).
pub fn input(prompt: &str) -> String {
    ask(ASK, prompt)
}

/// Like [`input`], but the frontend hides what is typed.
pub fn password(prompt: &str) -> String {
    ask(ASK_PASSWORD, prompt)
}

fn ask(command: &str, prompt: &str) -> String {
    if !crate::kernel_io::in_kernel() {
        return ask_console(prompt);
    }
    // The engine cuts the prompt at the first ':' and the protocol is one
    // line, so colons become the look-alike ratio sign and breaks spaces.
    let prompt: String = prompt
        .chars()
        .map(|c| match c {
            ':' => '\u{2236}',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    crate::kernel_io::tell_kernel(format_args!("{command}:{prompt}"));
    String::from_utf8_lossy(&read_line()).into_owned()
}

fn ask_console(prompt: &str) -> String {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    drop(out);
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let kept = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(kept);
    line
}

/// Reads one line from fd 0, byte by byte. `std::io::stdin()` cannot be used:
/// the engine's command loop in this process holds its lock while the cell
/// runs, and nothing past the line may be taken from the engine.
fn read_line() -> Vec<u8> {
    // SAFETY: fd 0 stays open for the process's life; the File is never dropped.
    let mut stdin = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
    let mut line = Vec::new();
    let mut byte = [0u8];
    loop {
        match stdin.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}
