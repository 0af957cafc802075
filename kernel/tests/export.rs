//! `asyncbook export` run as users run it: the built binary turns notebooks
//! into Cargo projects, which are built (in one shared target folder, so the
//! dependencies build once; only `:dep` crates come from the registry) and
//! run.
//!
//! Every chapter's program must print, in order, what the chapter shows as
//! text: its stored stdout and the `text/plain` of its results and displays,
//! after the runner's sanitising rules. The rules for cells a program cannot
//! repeat:
//! - cells tagged `skip-test`, `raises-exception` or `kernel-only` are
//!   comments in the program, so they show nothing;
//! - cells tagged `ignore-output`, and cells holding a kernel command such as
//!   `:runtime` (a comment in the program), may print anything;
//! - stderr and errors are not compared.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use asyncbook_kernel::runner::Sanitizer;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the kernel crate sits in the repository")
        .to_path_buf()
}

/// Where exported programs are built: one target folder for all of them.
fn programs_dir() -> PathBuf {
    repo().join("target/export-programs")
}

/// A notebook of code cells, each with its tags.
fn notebook(cells: &[(&str, &[&str])]) -> Value {
    let cells: Vec<Value> = cells
        .iter()
        .map(|(source, tags)| {
            json!({
                "cell_type": "code",
                "execution_count": null,
                "metadata": {"tags": tags},
                "outputs": [],
                "source": source,
            })
        })
        .collect();
    json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
}

fn export(notebook: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asyncbook"))
        .arg("export")
        .arg(notebook)
        .arg("--out")
        .arg(out)
        .output()
        .expect("running asyncbook export")
}

/// Writes `json` as `NAME.ipynb` in a fresh folder under the programs folder.
fn write_notebook(name: &str, json: &Value) -> PathBuf {
    let dir = programs_dir().join("fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.ipynb"));
    std::fs::write(&path, serde_json::to_string_pretty(json).unwrap()).unwrap();
    path
}

/// Builds an exported project and runs its program; returns its stdout.
fn build_and_run(project: &Path) -> Result<String, String> {
    build_and_run_with_input(project, "")
}

/// Like [`build_and_run`], with `input` on the program's stdin.
fn build_and_run_with_input(project: &Path, input: &str) -> Result<String, String> {
    let target = programs_dir().join("target");
    // The library's lock pins tokio, futures and theirs; only a notebook's
    // `:dep` crates may need the registry.
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        // As a user runs it, in the project: its `.cargo/config.toml` counts.
        .current_dir(project)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("running cargo build");
    if !build.status.success() {
        return Err(format!(
            "cargo build failed:\n{}",
            String::from_utf8_lossy(&build.stderr)
        ));
    }
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("Cargo.toml")).unwrap()).unwrap();
    let name = manifest["package"]["name"].as_str().unwrap().to_owned();
    let mut child = Command::new(target.join("debug").join(&name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the program");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let run = child.wait_with_output().expect("running the program");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    if !run.status.success() {
        return Err(format!(
            "{name} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    Ok(stdout)
}

const FIXTURE: &[(&str, &[&str])] = &[
    (
        ":dep itoa = \"1\"\nuse std::time::Duration;\nlet start = 2u64;",
        &[],
    ),
    (
        "// Twice as much.\nfn double(n: u64) -> u64 {\n    n * 2\n}\nlet doubled = double(start);\nprintln!(\"doubled: {doubled}\");\ndoubled",
        &[],
    ),
    ("println!(\"never\");", &["skip-test"]),
    (
        ":runtime\nlet parsed: u64 = \"21\".parse()?;\nlet mut buffer = itoa::Buffer::new();\nprintln!(\"{}\", buffer.format(parsed * 2));\nasyncbook::display::markdown(\"**bold**\");\ntokio::time::sleep(Duration::from_millis(1)).await;\nlet text = \"two\nlines\";\nvec![text.len(), 2]",
        &[],
    ),
    ("let bad: u64 = \"x\".parse()?;", &["raises-exception"]),
    (
        "use std::time::Duration;\nstruct Later;\nfor i in 0..2 {\n    println!(\"{i}\");\n}",
        &[],
    ),
];

const FIXTURE_MAIN: &str = r#"//! fixture.ipynb as a program, written by `asyncbook export`: the notebook's
//! items at module level and its other code in `main`, cell by cell.

// A cell's final value is shown as the kernel shows it: with the
// value's own `evcxr_display` (a timeline's table) or with `Debug`.
#[allow(unused_imports)]
use asyncbook::display::DebugDisplay as _;

// cell 1
use std::time::Duration;

// cell 2
// Twice as much.
fn double(n: u64) -> u64 {
    n * 2
}

// cell 6
struct Later;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // cell 1
    let start = 2u64;

    // cell 2
    let doubled = double(start);
    println!("doubled: {doubled}");
    (doubled).evcxr_display();

    // cell 3 is tagged skip-test: the notebook's tests do not run it; the program leaves it out:
    // println!("never");

    // cell 4
    // `:runtime` is a command to the kernel; a program has no use for it.
    let parsed: u64 = "21".parse()?;
    let mut buffer = itoa::Buffer::new();
    println!("{}", buffer.format(parsed * 2));
    asyncbook::display::markdown("**bold**");
    tokio::time::sleep(Duration::from_millis(1)).await;
    let text = "two
lines";
    (vec![text.len(), 2]).evcxr_display();

    // cell 5 is tagged raises-exception: it shows an error; the program leaves it out:
    // let bad: u64 = "x".parse()?;

    // cell 6
    for i in 0..2 {
        println!("{i}");
    }

    Ok(())
}
"#;

#[test]
fn a_notebook_becomes_a_program_that_prints_what_it_showed() {
    let path = write_notebook("fixture", &notebook(FIXTURE));
    let project = programs_dir().join("fixture");
    let exported = export(&path, &project);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    for (n, (actual, expected)) in main.lines().zip(FIXTURE_MAIN.lines()).enumerate() {
        assert_eq!(actual, expected, "line {} of main.rs:\n{main}", n + 1);
    }
    assert_eq!(main.lines().count(), FIXTURE_MAIN.lines().count(), "{main}");

    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("Cargo.toml")).unwrap()).unwrap();
    let dependencies = manifest["dependencies"].as_table().unwrap();
    let mut names: Vec<&str> = dependencies.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["asyncbook", "futures", "itoa", "tokio"]);
    assert_eq!(dependencies["itoa"].as_str(), Some("1"));
    assert_eq!(manifest["package"]["name"].as_str(), Some("fixture"));

    let stdout = build_and_run(&project).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stdout, "doubled: 4\n4\n42\n**bold**\n[9, 2]\n0\n1\n");
}

#[test]
fn a_program_without_the_cell_library_shows_values_with_debug() {
    // A crate beside the notebook, as `:dep ./answer` finds it.
    let local = programs_dir().join("fixtures/answer");
    std::fs::create_dir_all(local.join("src")).unwrap();
    std::fs::write(
        local.join("Cargo.toml"),
        "[package]\nname = \"answer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        local.join("src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    let path = write_notebook(
        "plain",
        &notebook(&[
            ("let words = vec![\"a\", \"b\"];\nwords.len()", &[]),
            ("words", &[]),
            ("()", &[]),
            (":dep ./answer\nanswer::answer()", &[]),
        ]),
    );
    let project = programs_dir().join("plain");
    let exported = export(&path, &project);
    assert!(exported.status.success());
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("asyncbook-cells"), "{manifest}");
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(main.contains("    show(&(words));\n"), "{main}");
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["dependencies"]["answer"]["path"].as_str(),
        Some(local.canonicalize().unwrap().to_str().unwrap())
    );
    let stdout = build_and_run(&project).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stdout, "2\n[\"a\", \"b\"]\n42\n");
}

#[test]
fn cells_that_cannot_be_placed_are_named_with_the_reason() {
    let path = write_notebook(
        "unplaceable",
        &notebook(&[
            ("let limit = 3;", &[]),
            ("fn over(n: u32) -> bool { n > limit }", &[]),
            ("fn twice() {}", &[]),
            ("fn twice() {}", &[]),
            ("let x = 1;\nlet y = ;", &[]),
            ("fn show() {}\n1", &[]),
        ]),
    );
    let project = programs_dir().join("unplaceable");
    let exported = export(&path, &project);
    assert!(!exported.status.success());
    let stderr = String::from_utf8_lossy(&exported.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"cell 5: line 2 does not parse: expected expression"),
        "{stderr}"
    );
    assert!(
        lines.contains(
            &"cell 4: defines `twice` again (first in cell 3); a notebook may redefine it, \
              a program holds one: give one of them another name"
        ),
        "{stderr}"
    );
    assert!(
        lines.contains(
            &"cell 2: `over` uses `limit`, a variable that cell 1 makes with `let`; in a \
              program items stand outside `main` and cannot see its variables: pass `limit` \
              as an argument, or make it a `const` or `static`"
        ),
        "{stderr}"
    );
    assert!(
        lines.contains(
            &"cell 6: defines `show`, the name of the function the program prints cells' \
              values with; give it another name"
        ),
        "{stderr}"
    );
    assert!(!project.join("src/main.rs").exists());
}

#[test]
fn helpers_outside_a_kernel_print_text_read_stdin_and_use_the_programs_runtime() {
    let path = write_notebook(
        "helpers",
        &notebook(&[
            (
                "let name = asyncbook::input::input(\"Your name? \");\nprintln!(\"hello {name}\");",
                &[],
            ),
            ("asyncbook::display::html(\"<b>bold</b>\");", &[]),
            (
                "let t = asyncbook::Timeline::new();\nt.track(\"nap\", async {}).await;\nt.spans().len()",
                &[],
            ),
            (
                "let five = asyncbook::runtime::block_on(async { 5 });\nfive",
                &[],
            ),
            ("asyncbook::runtime::report()", &[]),
        ]),
    );
    let project = programs_dir().join("helpers");
    assert!(export(&path, &project).status.success());
    let stdout = build_and_run_with_input(&project, "Ada\n").unwrap_or_else(|e| panic!("{e}"));
    let workers = std::thread::available_parallelism().unwrap().get();
    assert_eq!(
        stdout,
        format!(
            "Your name? hello Ada\n[HTML]\n1\n5\n\"runtime: multi-thread, {workers} worker threads, 0 live tasks\"\n"
        )
    );
}

/// What a chapter shows as text, as a pattern: literal text, with any text
/// where a cell may print anything; and the texts of cells whose printed
/// lines and displays the notebook keeps apart (one stream output per cell,
/// as nbclient stores it), which must each be there, in whatever order.
fn shown_text(notebook: &Value, sanitizer: &Sanitizer) -> (regex::Regex, Vec<String>) {
    let mut pattern = String::from("(?s)^");
    let mut loose = Vec::new();
    for cell in notebook["cells"].as_array().unwrap() {
        if cell["cell_type"] != "code" {
            continue;
        }
        let tags: Vec<&str> = cell["metadata"]["tags"]
            .as_array()
            .map(|tags| tags.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let left_out = ["skip-test", "raises-exception", "kernel-only"];
        if tags.iter().any(|tag| left_out.contains(tag)) {
            continue;
        }
        let source = text(&cell["source"]);
        let command = source.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with(':') && !line.starts_with("::") && !line.starts_with(":dep")
        });
        if tags.contains(&"ignore-output") || command {
            pattern.push_str(".*?");
            continue;
        }
        let mut shown = Vec::new();
        let mut printed = false;
        for output in cell["outputs"].as_array().unwrap() {
            if output["output_type"] == "stream" && output["name"] == "stdout" {
                printed = true;
                shown.extend(text(&output["text"]).lines().map(|l| format!("{l}\n")));
            } else if let Some(plain) = output["data"].get("text/plain") {
                shown.push(text(plain) + "\n");
            }
        }
        let displayed = shown.len() > usize::from(printed);
        if printed && displayed {
            pattern.push_str(".*?");
            loose.extend(shown.iter().map(|s| sanitizer.apply(s)));
        } else {
            pattern.push_str(&regex::escape(&sanitizer.apply(&shown.concat())));
        }
    }
    pattern.push('$');
    (regex::Regex::new(&pattern).unwrap(), loose)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

#[test]
fn every_chapter_becomes_a_program_that_prints_what_the_chapter_shows() {
    let mut notebooks: Vec<PathBuf> = ["notebooks", "tests/notebooks"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(repo().join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    notebooks.sort();
    assert!(notebooks.len() >= 12, "{notebooks:?}");
    let mut failures = Vec::new();
    for path in &notebooks {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let project = programs_dir().join("chapters").join(&stem);
        let exported = export(path, &project);
        if !exported.status.success() {
            failures.push(format!(
                "{stem}: export failed: {}",
                String::from_utf8_lossy(&exported.stderr)
            ));
            continue;
        }
        let stdout = match build_and_run(&project) {
            Ok(stdout) => stdout,
            Err(error) => {
                failures.push(format!("{stem}: {error}"));
                continue;
            }
        };
        let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let sanitizer = Sanitizer::for_notebook(path, &repo()).unwrap();
        let (expected, loose) = shown_text(&json, &sanitizer);
        let printed = sanitizer.apply(&stdout);
        let missing: Vec<_> = loose.iter().filter(|s| !printed.contains(*s)).collect();
        if !missing.is_empty() {
            failures.push(format!("{stem}: the program did not print {missing:?}"));
        }
        if !expected.is_match(&printed) {
            failures.push(format!(
                "{stem}: the program printed\n{stdout}\nwhere the chapter shows (as a pattern)\n{}",
                expected.as_str()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
