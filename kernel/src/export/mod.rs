//! `asyncbook export`: a notebook turned into a Cargo project that builds
//! and runs as a program printing what the notebook printed.

mod cell_code;
mod program;
mod project;

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::runner::notebook::{multiline, Notebook};
use program::LeftOut;
use program::{Cell, Program};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The notebook (.ipynb) to turn into a program.
    pub notebook: PathBuf,
    /// Folder of the Cargo project [default: the notebook's name, beside it].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let path = &args.notebook;
    let stem = path
        .file_stem()
        .context("the notebook's path has no file name")?
        .to_string_lossy()
        .into_owned();
    let program = program_of(&Notebook::read(path)?, &format!("{stem}.ipynb"))
        .with_context(|| format!("exporting {}", path.display()))?;
    let dir = args.out.unwrap_or_else(|| path.with_extension(""));
    let notebook_dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    project::write(
        &dir,
        &project::package_name(&stem),
        &format!("{stem}.ipynb"),
        &notebook_dir,
        &program,
    )?;
    // From inside the folder: cargo reads the project's `.cargo/config.toml`
    // (the cell library's flags) only there.
    println!(
        "wrote {0}: run it with `cd {0} && cargo run`",
        dir.display()
    );
    Ok(())
}

/// The program of a notebook read from its JSON.
fn program_of(notebook: &Notebook, title: &str) -> Result<Program> {
    let cells: Vec<Cell> = notebook.json["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, cell)| cell["cell_type"] == "code")
        .map(|(index, cell)| {
            let tags: Vec<&str> = cell["metadata"]["tags"]
                .as_array()
                .map(|tags| tags.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            Cell {
                number: index + 1,
                source: multiline(&cell["source"]),
                left_out: LeftOut::from_tags(&tags),
            }
        })
        .collect();
    program::assemble(title, &cells)
}
