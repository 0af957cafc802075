//! The book reads in one order: the table of contents in `notebooks/README.md`
//! lists every chapter once, numbered as its file, and each chapter's last
//! cell links back to the one before it and on to the one after it (the first
//! back to the table of contents, the last on to it), with the number and
//! title the table gives; and no stored output names a source path. No kernel
//! is started.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

fn notebooks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the kernel crate sits in the repository")
        .join("notebooks")
}

/// Number, title and file of each row of the table of contents, in order.
fn table_of_contents() -> Vec<(u32, String, String)> {
    let readme = std::fs::read_to_string(notebooks().join("README.md")).unwrap();
    let row = Regex::new(r"(?m)^\| (\d+) \| \[([^\]]+)\]\(([^)]+)\) \|").unwrap();
    row.captures_iter(&readme)
        .map(|c| (c[1].parse().unwrap(), c[2].to_string(), c[3].to_string()))
        .collect()
}

/// The `Previous: [..](..) · Next: [..](..)` line of a chapter's last cell:
/// the text and target of each link.
fn prev_next(file: &str) -> [(String, String); 2] {
    let text = std::fs::read_to_string(notebooks().join(file)).unwrap();
    let notebook: Value = serde_json::from_str(&text).unwrap();
    let last = notebook["cells"].as_array().unwrap().last().unwrap();
    let source: String = match &last["source"] {
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().unwrap_or_default().to_string(),
    };
    let line = Regex::new(r"Previous: ([^\n]*?\[([^\]]+)\]\(([^)]+)\))[^\n]*?· Next: ([^\n]*?\[([^\]]+)\]\(([^)]+)\))").unwrap();
    let c = line
        .captures(&source)
        .unwrap_or_else(|| panic!("{file}: the last cell has no `Previous: .. · Next: ..` line"));
    [
        (c[2].to_string(), c[3].to_string()),
        (c[5].to_string(), c[6].to_string()),
    ]
}

#[test]
fn the_table_of_contents_lists_every_chapter_once_in_order() {
    let listed: Vec<String> = table_of_contents()
        .into_iter()
        .map(|(n, _, file)| {
            assert!(
                file.starts_with(&format!("{n:02}-")),
                "row {n} links to {file}"
            );
            file
        })
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(notebooks())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ipynb"))
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
}

#[test]
fn every_chapter_links_to_its_neighbours_as_the_table_names_them() {
    let table = table_of_contents();
    assert!(table.len() >= 15, "{table:?}");
    let contents = ("the table of contents".to_string(), "README.md".to_string());
    for (i, (number, _, file)) in table.iter().enumerate() {
        let neighbour = |j: Option<usize>| match j.and_then(|j| table.get(j)) {
            Some((n, title, file)) => (format!("{n}. {title}"), file.clone()),
            None => contents.clone(),
        };
        let [previous, next] = prev_next(file);
        let (want_previous, want_next) = (neighbour(i.checked_sub(1)), neighbour(Some(i + 1)));
        // The first chapter's way back may be worded as it likes; its target may not.
        if i == 0 {
            assert_eq!(previous.1, want_previous.1, "chapter {number}: Previous");
        } else {
            assert_eq!(previous, want_previous, "chapter {number}: Previous");
        }
        if i + 1 == table.len() {
            assert_eq!(next.1, want_next.1, "chapter {number}: Next");
        } else {
            assert_eq!(next, want_next, "chapter {number}: Next");
        }
    }
}

/// No stored output names a place in the sources of std, a registry crate,
/// the toolchain or the machine: such a place moves with each release and
/// differs from machine to machine, and the reader on GitHub needs the item
/// a message names, not its file.
#[test]
fn stored_outputs_name_no_source_paths() {
    let path = Regex::new(
        r"registry/src|/rustc/[0-9a-f]|rustlib|library/(std|core|alloc)/|tokio-\d+\.\d+\.\d+/|/root/|/home/|\.cargo/",
    )
    .unwrap();
    for (_, _, file) in table_of_contents() {
        let text = std::fs::read_to_string(notebooks().join(&file)).unwrap();
        let notebook: Value = serde_json::from_str(&text).unwrap();
        for (i, cell) in notebook["cells"].as_array().unwrap().iter().enumerate() {
            let outputs = cell["outputs"].to_string();
            if let Some(found) = path.find(&outputs) {
                panic!(
                    "{file}, cell {i}: a stored output names `{}`",
                    found.as_str()
                );
            }
        }
    }
}
