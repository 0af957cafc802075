//! Frames on the output socket between a cell process and the kernel:
//! one tag byte, a little-endian `u32` length, then the payload.

use std::io::{self, Read, Write};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// A JSON display message from `asyncbook::display`.
    Display(Vec<u8>),
    /// The running cell panicked (or was interrupted).
    Panicked,
    /// The cell's code has begun to run (its compilation is over).
    CellStarted,
    /// The running cell ended early through `?` on an error (printed on stderr).
    ReturnedError,
    /// Why the running cell panicked: JSON with `message` and `location`.
    PanicMessage(Vec<u8>),
    /// Everything the finished cell wrote precedes this frame.
    Fence,
    /// evcxr drops this variable: its type was defined again since it was made.
    VariableLost(Vec<u8>),
}

impl Frame {
    fn parts(&self) -> (u8, &[u8]) {
        match self {
            Frame::Stdout(bytes) => (b'o', bytes),
            Frame::Stderr(bytes) => (b'e', bytes),
            Frame::Display(bytes) => (b'd', bytes),
            Frame::Panicked => (b'p', &[]),
            Frame::ReturnedError => (b'r', &[]),
            Frame::CellStarted => (b's', &[]),
            Frame::PanicMessage(bytes) => (b'm', bytes),
            Frame::Fence => (b'f', &[]),
            Frame::VariableLost(name) => (b'l', name),
        }
    }
}

pub struct FrameWriter<W: Write>(W);

impl<W: Write> FrameWriter<W> {
    pub fn new(inner: W) -> Self {
        Self(inner)
    }

    pub fn send(&mut self, frame: &Frame) -> io::Result<()> {
        let (tag, payload) = frame.parts();
        let mut bytes = Vec::with_capacity(5 + payload.len());
        bytes.push(tag);
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(payload);
        self.0.write_all(&bytes)
    }
}

/// Reads the next frame; `Ok(None)` when the cell process has gone.
pub fn read_frame(reader: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    match reader.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload)?;
    let frame = match head[0] {
        b'o' => Frame::Stdout(payload),
        b'e' => Frame::Stderr(payload),
        b'd' => Frame::Display(payload),
        b'p' => Frame::Panicked,
        b'r' => Frame::ReturnedError,
        b's' => Frame::CellStarted,
        b'm' => Frame::PanicMessage(payload),
        b'f' => Frame::Fence,
        b'l' => Frame::VariableLost(payload),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown frame tag {other}"),
            ))
        }
    };
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = vec![
            Frame::Stdout(b"hello\n".to_vec()),
            Frame::Stderr(vec![0xff, 0]),
            Frame::Display(br#"{"clear":{"wait":false}}"#.to_vec()),
            Frame::Panicked,
            Frame::ReturnedError,
            Frame::CellStarted,
            Frame::PanicMessage(br#"{"message":"boom"}"#.to_vec()),
            Frame::Fence,
        ];
        let mut writer = FrameWriter::new(Vec::new());
        for frame in &frames {
            writer.send(frame).unwrap();
        }
        let mut reader = std::io::Cursor::new(writer.0);
        let mut read = Vec::new();
        while let Some(frame) = read_frame(&mut reader).unwrap() {
            read.push(frame);
        }
        assert_eq!(read, frames);
    }
}
