//! Results per cell and per notebook, printed for people and written as
//! JUnit XML for CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub struct NotebookReport {
    pub path: PathBuf,
    pub cells: Vec<CellReport>,
    pub seconds: f64,
    /// Why the notebook could not be run at all (unreadable file).
    pub problem: Option<String>,
    /// Fresh outputs were written back into the file.
    pub updated: bool,
}

pub struct CellReport {
    /// 1-based position among all cells of the notebook.
    pub number: usize,
    pub id: Option<String>,
    pub seconds: f64,
    pub verdict: Verdict,
}

pub enum Verdict {
    Passed,
    /// Outputs differed and were written back (`--update`).
    Updated,
    Skipped,
    Failed(Failure),
}

pub enum Failure {
    Mismatch { diff: String },
    UnexpectedError { error: String },
    MissingError,
    TimedOut { seconds: f64 },
    KernelLost { why: String },
    NotRun { why: String },
}

#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The closing line: `N passed, M failed`, then skipped cells if any.
pub fn summary(counts: Counts) -> String {
    let mut line = format!("{} passed, {} failed", counts.passed, counts.failed);
    if counts.skipped > 0 {
        let _ = write!(line, ", {} skipped", counts.skipped);
    }
    line
}

impl NotebookReport {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for cell in &self.cells {
            match cell.verdict {
                Verdict::Passed | Verdict::Updated => counts.passed += 1,
                Verdict::Skipped => counts.skipped += 1,
                Verdict::Failed(_) => counts.failed += 1,
            }
        }
        if self.problem.is_some() && counts.failed == 0 {
            counts.failed = 1;
        }
        counts
    }

    /// The progress line and one entry per failing cell, for the terminal.
    pub fn human(&self) -> String {
        let counts = self.counts();
        let status = if counts.failed > 0 { "FAIL" } else { "ok  " };
        let mut text = format!("{status} {}: {}", self.path.display(), summary(counts));
        let _ = writeln!(text, " ({:.1} s)", self.seconds);
        if let Some(problem) = &self.problem {
            let _ = writeln!(text, "  {}", indent_rest(problem));
        }
        for cell in &self.cells {
            match &cell.verdict {
                Verdict::Failed(failure) => {
                    let _ = writeln!(text, "  {}: {}", cell.name(), failure.headline());
                    if let Some(details) = failure.details() {
                        for line in details.lines() {
                            let _ = writeln!(text, "    {line}");
                        }
                    }
                }
                Verdict::Updated => {
                    let _ = writeln!(text, "  {}: output updated", cell.name());
                }
                Verdict::Passed | Verdict::Skipped => {}
            }
        }
        if self.updated {
            let _ = writeln!(text, "  wrote {}", self.path.display());
        }
        text
    }
}

fn indent_rest(text: &str) -> String {
    text.replace('\n', "\n    ")
}

impl CellReport {
    fn name(&self) -> String {
        match &self.id {
            Some(id) => format!("cell {} (id {id})", self.number),
            None => format!("cell {}", self.number),
        }
    }
}

impl Failure {
    fn headline(&self) -> String {
        match self {
            Failure::Mismatch { .. } => "output differs".into(),
            Failure::UnexpectedError { error } => {
                format!("unexpected error: {}", error.lines().next().unwrap_or(""))
            }
            Failure::MissingError => "tagged raises-exception but raised no error".into(),
            Failure::TimedOut { seconds } => format!("timed out after {seconds} s, interrupted"),
            Failure::KernelLost { why } => format!("kernel lost: {why}"),
            Failure::NotRun { why } => format!("not run: {why}"),
        }
    }

    fn details(&self) -> Option<&str> {
        match self {
            Failure::Mismatch { diff } => Some(diff),
            Failure::UnexpectedError { error } => error.split_once('\n').map(|(_, rest)| rest),
            _ => None,
        }
    }
}

/// JUnit XML: one testsuite per notebook, one testcase per code cell.
pub fn junit(reports: &[NotebookReport]) -> String {
    let mut total = Counts::default();
    let mut suites = String::new();
    for report in reports {
        let counts = report.counts();
        total.add(counts);
        let name = xml(&report.path.display().to_string());
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            counts.passed + counts.failed + counts.skipped,
            counts.failed,
            counts.skipped,
            report.seconds
        );
        if let Some(problem) = &report.problem {
            let _ = writeln!(
                suites,
                "    <testcase classname=\"{name}\" name=\"notebook\" time=\"0\">\n      <error message=\"{}\"/>\n    </testcase>",
                xml(problem)
            );
        }
        for cell in &report.cells {
            let _ = write!(
                suites,
                "    <testcase classname=\"{name}\" name=\"{}\" time=\"{:.3}\"",
                xml(&cell.name()),
                cell.seconds
            );
            match &cell.verdict {
                Verdict::Passed | Verdict::Updated => suites.push_str("/>\n"),
                Verdict::Skipped => suites.push_str(">\n      <skipped/>\n    </testcase>\n"),
                Verdict::Failed(failure) => {
                    let _ = writeln!(
                        suites,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(&failure.headline()),
                        xml(failure.details().unwrap_or_default())
                    );
                }
            }
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"asyncbook\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n{suites}</testsuites>\n",
        total.passed + total.failed + total.skipped,
        total.failed,
        total.skipped
    )
}

/// Escapes text for XML, dropping characters XML 1.0 cannot hold
/// (terminal colour codes, for instance).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// Where `--keep` puts an executed notebook: its path below the keep folder.
pub fn kept_path(keep: &Path, notebook: &Path) -> PathBuf {
    use std::path::Component;
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| notebook.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| notebook.to_path_buf());
    let mut path = keep.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::ParentDir => path.push("_"),
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts() {
        let report = NotebookReport {
            path: "a&b.ipynb".into(),
            cells: vec![
                CellReport {
                    number: 1,
                    id: None,
                    seconds: 0.5,
                    verdict: Verdict::Passed,
                },
                CellReport {
                    number: 2,
                    id: Some("x".into()),
                    seconds: 0.5,
                    verdict: Verdict::Failed(Failure::Mismatch {
                        diff: "-<a>\n+\u{1b}[1mb\n".into(),
                    }),
                },
            ],
            seconds: 1.0,
            problem: None,
            updated: false,
        };
        let xml = junit(&[report]);
        assert!(xml.contains("<testsuite name=\"a&amp;b.ipynb\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("-&lt;a&gt;\n+[1mb"));
    }

    #[test]
    fn kept_notebooks_stay_inside_the_keep_folder() {
        assert_eq!(
            kept_path(Path::new("out"), Path::new("../x/./n.ipynb")),
            Path::new("out/_/x/n.ipynb")
        );
    }
}
