//! What every session declares before its first cell, and how a set-up
//! that failed is told.

use anyhow::Result;

use crate::engine::build::library;
use crate::engine::build::library::CellLibrary;

/// What every session declares before its first cell.
pub(crate) struct Setup {
    /// The kernel's own binary, evcxr's rustc wrapper.
    pub(crate) wrapper: String,
    pub(crate) library_dir: String,
    /// The `:dep` lines of tokio, futures and the cell library.
    pub(crate) dependencies: String,
}

impl Setup {
    pub(crate) fn new(library: &CellLibrary) -> Result<Self> {
        // The exact versions the cell library holds: the wrapper links them
        // in instead of compiling them, and rust-analyzer reads their source
        // to infer the types of variables such as a `JoinHandle`.
        let dependencies = format!(
            ":opt 0\n:offline true\n:dep tokio = {{ version = \"={}\", features = [\"full\", \"test-util\"] }}\n:dep futures = \"={}\"\n:dep asyncbook = {{ package = \"{}\", path = {:?} }}\n:offline false",
            library::TOKIO_VERSION,
            library::FUTURES_VERSION,
            library::CELLS_PACKAGE,
            library::cells_source(library)?.display().to_string(),
        );
        Ok(Setup {
            wrapper: std::env::current_exe()?.display().to_string(),
            library_dir: library.dir.display().to_string(),
            dependencies,
        })
    }
}

/// A set-up that failed, told for people: what broke (rustc's and cargo's
/// messages, one per line, as for any cell) and what to do.
pub(crate) fn setup_failure(error: evcxr::Error) -> anyhow::Error {
    let details = match &error {
        evcxr::Error::CompilationErrors(errors) => errors
            .iter()
            .map(|e| match e.rendered() {
                rendered if rendered.trim().is_empty() => e.message(),
                rendered => rendered,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        // evcxr's words around cargo's own error, which says what broke.
        other => {
            let text = other.to_string();
            match text.split_once("no parsable errors were found. STDERR:\n") {
                Some((_, stderr)) => stderr.split("\nSTDOUT:").next().unwrap_or("").to_owned(),
                None => text,
            }
        }
    };
    anyhow::anyhow!(
        "The kernel could not set up its cell library (tokio, futures and `asyncbook`), so no \
         cell can run:\n\n{}\n\nWhat to do: rebuild the cell library with `make build` in the \
         Asyncbook folder (`asyncbook install` for a kernel installed with `cargo install`), then \
         restart the kernel.",
        details.trim_end()
    )
}
