//! The shape of the code, as ARCHITECTURE.md promises it: no source file of
//! the kernel, the cell library or their tests over 450 lines, and no import
//! cycle among the files of either crate (each file a module; a path through
//! `crate::`, `super::`, `self::` or a child module is a use, a `mod` line is
//! not). Paths are read with rust-analyzer's parser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::{AstNode, Edition, SourceFile};

const MOST_LINES: usize = 450;

fn kernel_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_450_lines() {
    let mut files = Vec::new();
    rust_files(&kernel_dir(), &mut files);
    assert!(files.len() > 50, "the kernel's files were not found");
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            (lines > MOST_LINES).then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MOST_LINES} lines: {long:#?}");
}

#[test]
fn the_kernel_has_no_import_cycle() {
    assert_no_cycle(&kernel_dir().join("src"));
}

#[test]
fn the_cell_library_has_no_import_cycle() {
    assert_no_cycle(&kernel_dir().join("cells/src"));
}

/// A module as the path from the crate root (`["engine", "run"]`).
type Module = Vec<String>;

fn assert_no_cycle(src: &Path) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .filter(|file| !file.ends_with("main.rs") || file.parent() != Some(src))
        .map(|file| (module_of(src, &file), file))
        .collect();
    let mut uses: BTreeMap<&Module, BTreeSet<&Module>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = SourceFile::parse(&text, Edition::Edition2024).tree();
        let children: BTreeSet<String> = parsed
            .syntax()
            .descendants()
            .filter_map(ast::Module::cast)
            .filter(|m| m.item_list().is_none())
            .filter_map(|m| m.name().map(|n| n.text().to_string()))
            .collect();
        for (path, inline) in paths(&parsed) {
            let Some(target) = resolve(module, &children, &path, inline) else {
                continue;
            };
            let used = (1..=target.len())
                .rev()
                .map(|n| target[..n].to_vec())
                .chain([Vec::new()])
                .find_map(|m| modules.get_key_value(&m).map(|(k, _)| k));
            if let Some(used) = used.filter(|used| *used != module) {
                uses.entry(module).or_default().insert(used);
            }
        }
    }
    let cycle = find_cycle(&uses);
    assert!(
        cycle.is_empty(),
        "an import cycle in {}: {}",
        src.display(),
        cycle
            .iter()
            .map(|m| modules[*m].strip_prefix(src).unwrap().display().to_string())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
        parts.pop();
    }
    parts
}

/// Every path the file names: each `use` tree in full, and each outermost
/// path elsewhere but in a visibility (`pub(crate)`); each with the number of inline modules (`mod tests {}`)
/// it is written in, whose `super` stays in the file.
fn paths(file: &SourceFile) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    for node in file.syntax().descendants() {
        let inline = node
            .ancestors()
            .filter_map(ast::Module::cast)
            .filter(|m| m.item_list().is_some())
            .count();
        if let Some(tree) = ast::UseTree::cast(node.clone()) {
            if tree.use_tree_list().is_none() {
                found.push((use_tree_path(&tree), inline));
            }
        } else if let Some(path) = ast::Path::cast(node) {
            let nested = path
                .syntax()
                .parent()
                .is_some_and(|p| ast::Path::can_cast(p.kind()) || ast::UseTree::can_cast(p.kind()));
            let visibility = path
                .syntax()
                .ancestors()
                .any(|a| ast::Visibility::can_cast(a.kind()));
            // One segment alone names a value, a type or a macro, not a module.
            let segments = segments(&path);
            if !nested && !visibility && segments.len() > 1 {
                found.push((segments, inline));
            }
        }
    }
    found
}

/// The full path of a leaf of a `use` tree, with the prefixes of the trees
/// it is nested in.
fn use_tree_path(tree: &ast::UseTree) -> Vec<String> {
    let mut path = tree.path().map(|p| segments(&p)).unwrap_or_default();
    let mut node = tree.syntax().parent();
    while let Some(current) = node {
        if let Some(outer) = ast::UseTree::cast(current.clone()) {
            let mut prefix = outer.path().map(|p| segments(&p)).unwrap_or_default();
            prefix.append(&mut path);
            path = prefix;
        }
        node = current.parent();
    }
    path
}

fn segments(path: &ast::Path) -> Vec<String> {
    let mut found = path.qualifier().map(|q| segments(&q)).unwrap_or_default();
    if let Some(name) = path.segment().and_then(|s| s.name_ref()) {
        found.push(name.text().to_string());
    }
    found
}

/// The module `path`, used in `module` (whose declared children are
/// `children`) inside `inline` inline modules, leads into; None for a path
/// outside the crate.
fn resolve(
    module: &Module,
    children: &BTreeSet<String>,
    path: &[String],
    inline: usize,
) -> Option<Module> {
    let within = path
        .iter()
        .take(inline)
        .take_while(|s| *s == "super")
        .count();
    let path = &path[within..];
    if within > 0 && path.first().is_none_or(|s| s != "super") {
        return Some(module.clone());
    }
    let (first, rest) = path.split_first()?;
    let mut target = match first.as_str() {
        "crate" => return Some(rest.to_vec()),
        "self" => module.clone(),
        "super" => {
            let mut target = module.clone();
            target.pop();
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                target.pop();
                rest = &rest[1..];
            }
            target.extend(rest.iter().cloned());
            return Some(target);
        }
        child if children.contains(child) => {
            let mut target = module.clone();
            target.push(child.to_owned());
            target
        }
        _ => return None,
    };
    target.extend(rest.iter().cloned());
    Some(target)
}

/// A cycle of uses, if there is one, as the modules along it.
fn find_cycle<'a>(uses: &BTreeMap<&'a Module, BTreeSet<&'a Module>>) -> Vec<&'a Module> {
    fn visit<'a>(
        module: &'a Module,
        uses: &BTreeMap<&'a Module, BTreeSet<&'a Module>>,
        done: &mut BTreeSet<&'a Module>,
        stack: &mut Vec<&'a Module>,
    ) -> Option<Vec<&'a Module>> {
        if let Some(at) = stack.iter().position(|m| *m == module) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(module);
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        stack.push(module);
        for used in uses.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(used, uses, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    uses.keys()
        .find_map(|module| visit(module, uses, &mut done, &mut Vec::new()))
        .unwrap_or_default()
}
