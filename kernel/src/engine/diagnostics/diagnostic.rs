//! A rustc diagnostic as the kernel draws it: title, code, labelled spans
//! in the cell, notes and helps.

use evcxr::CompilationError;

/// One diagnostic, from evcxr (a cell that failed to compile) or from
/// rustc's JSON (the warnings of a cell that compiled), with spans in the
/// cell's own lines and columns.
#[derive(Clone)]
pub struct Diagnostic {
    pub level: String,
    /// An error code (`E0308`) or, for a lint, its name.
    pub code: Option<String>,
    pub message: String,
    pub spans: Vec<Labelled>,
    pub help: Vec<String>,
    /// Notes with places in the cell, drawn below the diagnostic as rustc
    /// draws them ("note: future is not `Send` as this value is used across
    /// an await").
    pub notes: Vec<Note>,
}

/// A note of a diagnostic, with its labels in the cell.
#[derive(Clone)]
pub struct Note {
    pub message: String,
    pub spans: Vec<Labelled>,
}

/// A label of a diagnostic; `span` is `None` for a note without a place.
#[derive(Clone)]
pub struct Labelled {
    pub span: Option<Span>,
    pub label: String,
    pub primary: bool,
}

/// 1-based lines and columns; the end column is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl From<&CompilationError> for Diagnostic {
    fn from(error: &CompilationError) -> Self {
        Self {
            level: error.level().to_owned(),
            code: error.code().map(str::to_owned),
            message: error.message(),
            spans: error
                .spanned_messages()
                .iter()
                .map(|m| Labelled {
                    span: m.span.map(|s| Span {
                        start_line: s.start_line,
                        start_column: s.start_column,
                        end_line: s.end_line,
                        end_column: s.end_column,
                    }),
                    label: m.label.clone(),
                    primary: m.is_primary,
                })
                .collect(),
            help: error.help(),
            notes: Vec::new(),
        }
    }
}

#[cfg(test)]
pub(super) fn label(span: (usize, usize, usize, usize), label: &str, primary: bool) -> Labelled {
    Labelled {
        span: Some(Span {
            start_line: span.0,
            start_column: span.1,
            end_line: span.2,
            end_column: span.3,
        }),
        label: label.into(),
        primary,
    }
}

#[cfg(test)]
pub(super) fn an_error(code: &str, message: &str, spans: Vec<Labelled>) -> Diagnostic {
    Diagnostic {
        level: "error".into(),
        code: Some(code.into()),
        message: message.into(),
        spans,
        help: vec![],
        notes: vec![],
    }
}
