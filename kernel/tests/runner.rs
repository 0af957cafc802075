//! `asyncbook test` run as users run it: the built binary over the fixture
//! notebooks in `tests/runner/`, each in a fresh kernel.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the kernel crate sits in the repository")
        .to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/runner").join(name)
}

struct Run {
    success: bool,
    lines: Vec<String>,
    /// stderr: progress while notebooks run (not a terminal here: plain lines).
    progress: String,
}

fn asyncbook_test(args: &[&str]) -> Run {
    asyncbook_test_with(args, &[])
}

fn asyncbook_test_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_asyncbook"))
        .arg("test")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .expect("running asyncbook test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    Run {
        success: output.status.success(),
        lines: stdout.lines().map(str::to_owned).collect(),
        progress: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The lines printed for one notebook: its progress line and the
    /// indented lines below it.
    fn block(&self, progress: &str) -> Vec<&str> {
        let start = self
            .lines
            .iter()
            .position(|l| l.starts_with(progress))
            .unwrap_or_else(|| panic!("no line starting with {progress:?}"));
        self.lines[start..]
            .iter()
            .take_while(|l| l.starts_with(progress) || l.starts_with(' '))
            .map(String::as_str)
            .collect()
    }

    fn closing_line(&self) -> &str {
        self.lines.last().map_or("", String::as_str)
    }
}

#[test]
fn reports_every_cell_of_the_fixture_notebooks() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("junit.xml");
    let keep = out.path().join("kept");
    let run = asyncbook_test(&[
        "-j",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        "--keep",
        keep.to_str().unwrap(),
        "tests/runner",
    ]);
    assert!(!run.success, "failing cells must fail the run");

    let pass = run.block("ok   tests/runner/pass.ipynb: 3 passed, 0 failed, 1 skipped (");
    assert_eq!(
        pass.len(),
        1,
        "a passing notebook prints one line: {pass:?}"
    );

    let altered = run.block("FAIL tests/runner/altered.ipynb: 2 passed, 1 failed, 1 skipped (");
    assert_eq!(altered[1], "  cell 2 (id greet): output differs");
    assert!(altered.contains(&"    -hallo from a cell"), "{altered:?}");
    assert!(altered.contains(&"    +hello from a cell"), "{altered:?}");

    let errors = run.block("FAIL tests/runner/unexpected_error.ipynb: 2 passed, 2 failed (");
    assert!(
        errors.contains(&"  cell 3 (id broken): unexpected error: CompileError: mismatched types")
    );
    assert!(errors.contains(&"  cell 5 (id no-error): tagged raises-exception but raised no error"));

    run.block("ok   tests/runner/expected_error.ipynb: 2 passed, 0 failed (");
    run.block("ok   tests/runner/sanitize/timing.ipynb: 2 passed, 0 failed (");
    run.block("ok   tests/runner/fresh/1-leaves-state.ipynb: 3 passed, 0 failed (");
    run.block("ok   tests/runner/fresh/2-starts-fresh.ipynb: 7 passed, 0 failed (");

    let timeout = run.block("FAIL tests/runner/timeout.ipynb: 2 passed, 1 failed (");
    assert_eq!(
        timeout[1..],
        ["  cell 3 (id slow): timed out after 3 s, interrupted"]
    );

    assert_eq!(run.closing_line(), "23 passed, 4 failed, 2 skipped");

    // A plain run never writes into the notebooks it checks.
    let stored = fs::read_to_string(fixture("altered.ipynb")).unwrap();
    assert!(stored.contains("hallo from a cell"));

    let xml = fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 8);
    assert!(xml.contains(
        "<testsuite name=\"tests/runner/altered.ipynb\" tests=\"4\" failures=\"1\" skipped=\"1\""
    ));
    assert!(xml.contains("<failure message=\"output differs\">"));

    // The kept copy holds what the cells printed this time.
    let kept = fs::read_to_string(keep.join("tests/runner/altered.ipynb")).unwrap();
    assert!(kept.contains("hello from a cell") && !kept.contains("hallo from a cell"));
}

/// A notebook's kernel, started over in place, runs the next notebook of its
/// folder: the first notebook's dependency, setting, variables, item and
/// never-ending task are not visible to the second (its stored outputs come
/// from a kernel of its own), and its execution counts start from 1.
#[test]
fn a_kernel_started_over_runs_the_next_notebook_as_a_fresh_one() {
    let out = tempfile::tempdir().unwrap();
    let keep = out.path().join("kept");
    let run = asyncbook_test(&[
        "-j",
        "1",
        "--keep",
        keep.to_str().unwrap(),
        "tests/runner/fresh",
    ]);
    assert!(run.success);
    run.block("ok   tests/runner/fresh/1-leaves-state.ipynb: 3 passed, 0 failed (");
    run.block("ok   tests/runner/fresh/2-starts-fresh.ipynb: 7 passed, 0 failed (");

    // The first code cell of each prints the process id of its kernel.
    let first_cell = |name: &str| {
        let path = keep.join("tests/runner/fresh").join(name);
        let notebook: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        let cell = notebook["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|cell| cell["cell_type"] == "code")
            .unwrap()
            .clone();
        let text: String = cell["outputs"][0]["text"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line.as_str().unwrap())
            .collect();
        (text, cell["execution_count"].as_u64())
    };
    let (first, _) = first_cell("1-leaves-state.ipynb");
    let (second, count) = first_cell("2-starts-fresh.ipynb");
    assert!(first.starts_with("kernel process "), "{first:?}");
    assert_eq!(first, second, "both notebooks ran in one kernel");
    assert_eq!(count, Some(1));
}

#[test]
fn update_writes_fresh_outputs_and_leaves_matching_notebooks_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pass = fs::read(fixture("pass.ipynb")).unwrap();
    let altered = fs::read_to_string(fixture("altered.ipynb")).unwrap();
    fs::write(dir.path().join("pass.ipynb"), &pass).unwrap();
    // A stale execution count on a cell whose output matches.
    let stale_count = altered.replace("\"execution_count\": 2", "\"execution_count\": 9");
    assert_ne!(stale_count, altered);
    fs::write(dir.path().join("altered.ipynb"), &stale_count).unwrap();
    // A stale traceback of an error that matches by name and value.
    let expected_error = fs::read_to_string(fixture("expected_error.ipynb")).unwrap();
    let stale_traceback = expected_error.replace("expected due to this", "drawn long ago");
    assert_ne!(stale_traceback, expected_error);
    fs::write(dir.path().join("expected_error.ipynb"), &stale_traceback).unwrap();

    let run = asyncbook_test(&["--update", "-j", "2", dir.path().to_str().unwrap()]);
    assert!(run.success, "after an update every cell passes");
    assert!(run.has("  cell 2 (id greet): output updated"));
    assert_eq!(run.closing_line(), "8 passed, 0 failed, 2 skipped");

    assert_eq!(
        fs::read(dir.path().join("pass.ipynb")).unwrap(),
        pass,
        "a notebook whose outputs match stays byte-identical"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("altered.ipynb")).unwrap(),
        altered.replace("hallo from a cell", "hello from a cell"),
        "the differing output changes, and the execution counts are the run's"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("expected_error.ipynb")).unwrap(),
        expected_error,
        "the traceback is drawn again"
    );
}

#[test]
fn a_notebook_without_stored_outputs_is_checked_for_errors_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut notebook: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixture("altered.ipynb")).unwrap()).unwrap();
    for cell in notebook["cells"].as_array_mut().unwrap() {
        if cell["cell_type"] == "code" {
            cell["outputs"] = serde_json::json!([]);
        }
    }
    let path = dir.path().join("fresh.ipynb");
    fs::write(&path, notebook.to_string()).unwrap();
    let path = path.to_str().unwrap();

    // Without outputs to compare: one line saying what to do, no diffs.
    let plain = asyncbook_test(&[path]);
    assert!(!plain.success);
    assert!(
        plain.has("  no stored outputs to compare with: record them with `asyncbook test --update`, or check only for errors with `--errors-only`"),
        "{:?}",
        plain.lines
    );
    assert!(
        !plain.lines.iter().any(|l| l.contains("output differs")),
        "{:?}",
        plain.lines
    );

    let errors_only = asyncbook_test(&["--errors-only", path]);
    assert!(errors_only.success, "{:?}", errors_only.lines);
    // Progress, one plain line per cell as it starts.
    assert_eq!(
        errors_only.progress.lines().collect::<Vec<_>>(),
        [
            "[0/1 notebooks done, 0 cells run] fresh.ipynb: code cell 1 of 4",
            "[0/1 notebooks done, 1 cells run] fresh.ipynb: code cell 2 of 4",
            "[0/1 notebooks done, 2 cells run] fresh.ipynb: code cell 4 of 4",
        ]
    );
    // The altered fixture's stored outputs differ, and do not count either.
    let altered = asyncbook_test(&["--errors-only", fixture("altered.ipynb").to_str().unwrap()]);
    assert!(altered.success, "{:?}", altered.lines);
    assert_eq!(altered.closing_line(), "3 passed, 0 failed, 1 skipped");
}

#[test]
fn sanitize_rules_apply_from_the_nearest_folder_up_to_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = fs::read(fixture("sanitize/timing.ipynb")).unwrap();
    let bare = dir.path().join("bare");
    let nested = dir.path().join("rules/deeper");
    fs::create_dir_all(&bare).unwrap();
    fs::create_dir_all(&nested).unwrap();
    fs::write(bare.join("timing.ipynb"), &notebook).unwrap();
    fs::write(nested.join("timing.ipynb"), &notebook).unwrap();
    fs::copy(
        fixture("sanitize/sanitize.toml"),
        dir.path().join("rules/sanitize.toml"),
    )
    .unwrap();

    let run = asyncbook_test(&["-j", "2", dir.path().to_str().unwrap()]);
    assert!(!run.success);
    let root = dir.path().display();
    let unsanitised = run.block(&format!(
        "FAIL {root}/bare/timing.ipynb: 0 passed, 2 failed ("
    ));
    assert!(unsanitised.contains(&"  cell 2 (id sleep): output differs"));
    assert!(unsanitised.contains(&"  cell 3 (id address): output differs"));
    run.block(&format!(
        "ok   {root}/rules/deeper/timing.ipynb: 2 passed, 0 failed ("
    ));
    assert_eq!(run.closing_line(), "2 passed, 2 failed");
}

/// A kernel that exits while starting (here: no cell library) fails the
/// notebook's cells with the kernel's own words.
#[test]
fn a_kernel_that_cannot_start_is_reported_with_its_reason() {
    let notebook = fixture("pass.ipynb");
    let run = asyncbook_test_with(
        &[notebook.to_str().unwrap()],
        &[("ASYNCBOOK_CELLS_DIR", "/nonexistent/asyncbook-cells")],
    );
    assert!(!run.success);
    let said = run.lines.join("\n");
    assert!(said.contains("not run: the kernel did not start"), "{said}");
    assert!(said.contains("cell library is incomplete"), "{said}");
    assert_eq!(run.closing_line(), "0 passed, 3 failed, 1 skipped");
}

/// `cargo test --test notebooks`, built with this test's profile, run from
/// the repository.
fn cargo_test_notebooks(args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Run {
    let mut command = common::cargo();
    command.args(["test", "--locked", "--test", "notebooks"]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .arg("--")
        .args(args)
        .envs(env.iter().map(|(name, value)| (*name, value)))
        .current_dir(repo())
        .output()
        .expect("running cargo test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    Run {
        success: output.status.success(),
        lines: stdout.lines().map(str::to_owned).collect(),
        progress: stderr.into_owned(),
    }
}

#[test]
fn cargo_test_lists_each_chapter_and_test_notebook_as_a_test() {
    let mut expected = Vec::new();
    for folder in ["tests/notebooks", "notebooks"] {
        let mut found: Vec<String> = fs::read_dir(repo().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".ipynb"))
            .map(|name| format!("{folder}/{name}: test"))
            .collect();
        found.sort();
        expected.extend(found);
    }
    assert!(expected.len() > 12, "the chapters and the test notebook");
    let all = cargo_test_notebooks(&["--list"], &[]);
    assert!(all.success);
    assert_eq!(all.lines, expected);

    let one = cargo_test_notebooks(&["--list", "07"], &[]);
    assert_eq!(one.lines, ["notebooks/07-async-await.ipynb: test"]);
}

#[test]
fn cargo_test_fails_the_test_of_a_notebook_whose_output_differs_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = |stored: &str| {
        serde_json::json!({
            "cells": [{
                "cell_type": "code",
                "execution_count": 1,
                "id": "answer",
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": [stored]}],
                "source": ["println!(\"{}\", 6 * 7);"]
            }],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5
        })
        .to_string()
    };
    let wrong = dir.path().join("wrong.ipynb");
    let right = dir.path().join("right.ipynb");
    fs::write(&wrong, notebook("41\n")).unwrap();
    fs::write(&right, notebook("42\n")).unwrap();
    let notebooks = std::env::join_paths([&wrong, &right]).unwrap();

    let run = cargo_test_notebooks(&[], &[("ASYNCBOOK_NOTEBOOKS", notebooks)]);
    assert!(!run.success, "a failing notebook fails `cargo test`");
    let (wrong, right) = (wrong.display(), right.display());
    assert!(run.has(&format!("test {right} ... ok")), "{:?}", run.lines);
    assert!(
        run.has(&format!("test {wrong} ... FAILED")),
        "{:?}",
        run.lines
    );
    // Below the failing test's name: the runner's report for its notebook.
    let report = run.block(&format!("FAIL {wrong}: 0 passed, 1 failed ("));
    assert_eq!(
        report[1..],
        [
            "  cell 1 (id answer): output differs",
            "    --- expected",
            "    +++ actual",
            "    @@ -1,2 +1,2 @@",
            "     [stdout]",
            "    -41",
            "    +42",
        ]
    );
    assert!(
        run.lines
            .iter()
            .any(|l| l.starts_with("test result: FAILED. 1 passed; 1 failed;")),
        "{:?}",
        run.lines
    );
}

/// `--partition K/N` runs every Nth notebook found, from the Kth: the CI
/// machines of one job share the notebooks out without running one twice.
#[test]
fn a_partition_runs_its_share_of_the_notebooks() {
    let run = asyncbook_test(&["--partition", "2/2", "tests/runner/fresh"]);
    assert!(run.success);
    assert!(run.progress.contains("partition 2/2: 1 of 2 notebooks"));
    run.block("ok   tests/runner/fresh/2-starts-fresh.ipynb: 7 passed, 0 failed (");
    assert!(!run.lines.iter().any(|l| l.contains("1-leaves-state")));
    assert!(!asyncbook_test(&["--partition", "3/2", "tests/runner"]).success);
}
