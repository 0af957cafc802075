//! The program's `src/main.rs`, assembled from the notebook's cells: items
//! at module level and everything else inside `main`, both in cell order,
//! and the checks that say which cell cannot be placed so, and why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{bail, Result};

use super::cell_code::{self, CellCode, Command, Piece, PieceKind};

/// A code cell of the notebook, as export takes it.
pub struct Cell {
    /// Its place among all the notebook's cells, counted from 1 (as the
    /// runner names cells).
    pub number: usize,
    pub source: String,
    pub left_out: Option<LeftOut>,
}

/// Why a cell stays in the program only as a comment (from its tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    /// `skip-test`: the notebook's tests do not run it either.
    SkipTest,
    /// `raises-exception`: it shows an error.
    RaisesException,
    /// `kernel-only`: it shows the kernel itself (its threads, its own tasks).
    KernelOnly,
}

impl LeftOut {
    pub fn from_tags(tags: &[&str]) -> Option<LeftOut> {
        tags.iter().find_map(|tag| match *tag {
            "skip-test" => Some(LeftOut::SkipTest),
            "raises-exception" => Some(LeftOut::RaisesException),
            "kernel-only" => Some(LeftOut::KernelOnly),
            _ => None,
        })
    }

    fn reason(self) -> &'static str {
        match self {
            LeftOut::SkipTest => "is tagged skip-test: the notebook's tests do not run it",
            LeftOut::RaisesException => "is tagged raises-exception: it shows an error",
            LeftOut::KernelOnly => "is tagged kernel-only: it shows the kernel itself",
        }
    }
}

/// What the project around `main.rs` needs to know.
pub struct Program {
    pub main_rs: String,
    /// Dependencies from `:dep`, with the cell each came from.
    pub dependencies: Vec<(usize, Dependency)>,
    /// Whether the code uses the cell library's helpers (`asyncbook::`).
    pub uses_cell_library: bool,
}

/// A `:dep` of the notebook.
pub enum Dependency {
    /// A line of `[dependencies]`.
    Line(String),
    /// A crate in a folder, as written (relative to the notebook's folder).
    Local(std::path::PathBuf),
}

/// The code of one cell that is run, cut into pieces.
struct Split<'a> {
    cell: &'a Cell,
    code: CellCode,
}

/// Assembles the program, or says which cells cannot be placed and why.
pub fn assemble(title: &str, cells: &[Cell]) -> Result<Program> {
    let mut problems = Vec::new();
    let mut split = Vec::new();
    for cell in cells {
        if cell.left_out.is_some() {
            continue;
        }
        match cell_code::split(&cell.source) {
            Ok(code) => split.push(Split { cell, code }),
            Err(error) => problems.push(format!("cell {}: {error:#}", cell.number)),
        }
    }
    problems.extend(placement_problems(&split));
    let uses_cell_library = split
        .iter()
        .flat_map(|s| &s.code.pieces)
        .any(|piece| piece.text.contains("asyncbook::"));
    let shows_values = split
        .iter()
        .flat_map(|s| &s.code.pieces)
        .any(|piece| piece.kind == PieceKind::Value);
    if shows_values && !uses_cell_library {
        problems.extend(split.iter().filter(|s| defines(s, "show")).map(|s| {
            format!(
                "cell {}: defines `show`, the name of the function the program prints \
                 cells' values with; give it another name",
                s.cell.number
            )
        }));
    }
    if !problems.is_empty() {
        bail!(
            "the notebook cannot become a program as it is:\n  {}",
            problems.join("\n  ")
        );
    }
    let dependencies = split
        .iter()
        .flat_map(|s| {
            s.code.commands.iter().filter_map(|command| match command {
                Command::Dep(line) => Some((s.cell.number, Dependency::Line(line.clone()))),
                Command::LocalDep(path) => Some((s.cell.number, Dependency::Local(path.clone()))),
                Command::Kernel(_) => None,
            })
        })
        .collect();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! {title} as a program, written by `asyncbook export`: the notebook's\n\
         //! items at module level and its other code in `main`, cell by cell."
    );
    let attributes: Vec<&Piece> = split
        .iter()
        .flat_map(|s| &s.code.pieces)
        .filter(|p| p.kind == PieceKind::CrateAttribute)
        .collect();
    if !attributes.is_empty() {
        out.push('\n');
        for piece in attributes {
            let _ = writeln!(out, "{}", piece.text.trim());
        }
    }
    if shows_values && uses_cell_library {
        let _ = writeln!(
            out,
            "\n// A cell's final value is shown as the kernel shows it: with the\n\
             // value's own `evcxr_display` (a timeline's table) or with `Debug`.\n\
             #[allow(unused_imports)]\n\
             use asyncbook::display::DebugDisplay as _;"
        );
    }
    let mut seen_uses = BTreeSet::new();
    for s in &split {
        let items: Vec<&Piece> = s
            .code
            .pieces
            .iter()
            .filter(|piece| match &piece.kind {
                PieceKind::Item(item) => !item.is_use || seen_uses.insert(piece.text.clone()),
                _ => false,
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n// cell {}", s.cell.number);
        let mut after_use = true;
        for (n, piece) in items.iter().enumerate() {
            let is_use = matches!(&piece.kind, PieceKind::Item(item) if item.is_use);
            if n > 0 && !(after_use && is_use) {
                out.push('\n');
            }
            after_use = is_use;
            let _ = writeln!(out, "{}", piece.text);
        }
    }

    out.push_str(
        "\n#[tokio::main]\n\
         async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {\n",
    );
    let mut first = true;
    let mut runs = split.iter().peekable();
    for cell in cells {
        let mut body = String::new();
        if let Some(left_out) = cell.left_out {
            let _ = writeln!(
                body,
                "// cell {} {}; the program leaves it out:",
                cell.number,
                left_out.reason()
            );
            for line in cell.source.trim_end().lines() {
                let _ = writeln!(body, "// {line}");
            }
        } else if let Some(s) = runs.next_if(|s| std::ptr::eq(s.cell, cell)) {
            body = main_part(s, uses_cell_library);
        }
        if body.is_empty() {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(&indent(&body));
    }
    if !first {
        out.push('\n');
    }
    out.push_str("    Ok(())\n}\n");
    if shows_values && !uses_cell_library {
        out.push_str(
            "\n/// Prints a cell's final value as the kernel shows it: with `Debug`, and\n\
             /// nothing for `()`.\n\
             fn show<T: std::fmt::Debug + ?Sized>(value: &T) {\n    \
                 let text = format!(\"{value:?}\");\n    \
                 if text != \"()\" {\n        \
                     println!(\"{text}\");\n    \
                 }\n\
             }\n",
        );
    }
    Ok(Program {
        main_rs: out.replace("\n\n\n", "\n\n"),
        dependencies,
        uses_cell_library,
    })
}

fn defines(s: &Split<'_>, name: &str) -> bool {
    s.code.pieces.iter().any(
        |piece| matches!(&piece.kind, PieceKind::Item(item) if item.name.as_deref() == Some(name)),
    )
}

/// The statements of one cell, unindented, with a comment naming the cell;
/// empty when the cell holds only items.
fn main_part(s: &Split<'_>, uses_cell_library: bool) -> String {
    let mut body = String::new();
    for command in &s.code.commands {
        if let Command::Kernel(command) = command {
            let _ = writeln!(
                body,
                "// `{command}` is a command to the kernel; a program has no use for it."
            );
        }
    }
    for piece in &s.code.pieces {
        match piece.kind {
            PieceKind::Statement { .. } => {
                let _ = writeln!(body, "{}", keep_strings(piece));
            }
            PieceKind::Value => {
                let (open, close) = if uses_cell_library {
                    ("(", ").evcxr_display();")
                } else {
                    ("show(&(", "));")
                };
                let code = keep_strings(piece);
                if code.contains('\n') || code.contains("//") {
                    // On lines of its own, comments cannot swallow the close.
                    let _ = writeln!(body, "{open}\n{}{close}", indent(&code));
                } else {
                    let _ = writeln!(body, "{open}{code}{close}");
                }
            }
            _ => {}
        }
    }
    if body.is_empty() {
        return body;
    }
    format!("// cell {}\n{body}", s.cell.number)
}

/// A piece's text with a marker on lines inside string literals, which
/// [`indent`] leaves as they are.
fn keep_strings(piece: &Piece) -> String {
    piece
        .text
        .split('\n')
        .enumerate()
        .map(|(n, line)| {
            if piece.string_lines.contains(&n) {
                format!("{STRING_LINE}{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Marks a line that continues a string literal (a control character that
/// no source line starts with).
const STRING_LINE: char = '\u{0}';

/// Indents a body for `main`, all but the lines inside string literals.
fn indent(body: &str) -> String {
    body.lines()
        .map(|line| match line.strip_prefix(STRING_LINE) {
            Some(kept) => format!("{kept}\n"),
            None if line.trim().is_empty() => "\n".to_owned(),
            None => format!("    {line}\n"),
        })
        .collect()
}

/// Cells the program cannot hold as written: an item that reads a variable
/// of `main` (items cannot see into a function), an item defined twice, or
/// one named `main`.
fn placement_problems(split: &[Split<'_>]) -> Vec<String> {
    let mut variables: BTreeMap<&str, usize> = BTreeMap::new();
    let mut items: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for s in split {
        for piece in &s.code.pieces {
            match &piece.kind {
                PieceKind::Statement { binds } => {
                    for name in binds {
                        variables.entry(name).or_insert(s.cell.number);
                    }
                }
                PieceKind::Item(item) => {
                    let Some(name) = item.name.as_deref() else {
                        continue;
                    };
                    if name == "main" {
                        problems.push(format!(
                            "cell {}: defines `main`, and the program's `main` runs the \
                             notebook's cells; give it another name",
                            s.cell.number
                        ));
                    }
                    if let Some(first) = items.insert(name, s.cell.number) {
                        problems.push(format!(
                            "cell {}: defines `{name}` again (first in cell {first}); a \
                             notebook may redefine it, a program holds one: give one of \
                             them another name",
                            s.cell.number
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    for s in split {
        for piece in &s.code.pieces {
            let PieceKind::Item(item) = &piece.kind else {
                continue;
            };
            for name in &item.free_names {
                let Some(cell) = variables.get(name.as_str()) else {
                    continue;
                };
                if items.contains_key(name.as_str()) {
                    continue;
                }
                let what = item
                    .name
                    .as_deref()
                    .map_or("an item".to_owned(), |n| format!("`{n}`"));
                problems.push(format!(
                    "cell {}: {what} uses `{name}`, a variable that cell {cell} makes with \
                     `let`; in a program items stand outside `main` and cannot see its \
                     variables: pass `{name}` as an argument, or make it a `const` or `static`",
                    s.cell.number
                ));
            }
        }
    }
    problems
}
