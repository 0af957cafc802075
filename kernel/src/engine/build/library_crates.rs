//! Crates the cell library holds, when a `:dep` asks a session for another
//! version of one or for more features than the library was built with.
//!
//! Such a crate is compiled in the session, a second copy beside the
//! library's, which harms nothing until a crate of the library would be
//! built on it: tokio, futures, the cell library itself. Their second copies
//! would not be the ones every cell shares, so the build stops there with an
//! error that names each crate, what the library holds, what was asked and
//! what to do. The session goes on without the `:dep`: evcxr keeps a cell's
//! dependencies only once they are built, and the cell build puts the lock
//! file back (see `build::cargo`).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::engine::build::library::{Artifact, CellLibrary, PREBUILT_MARK};

/// Beside a compiled crate that replaces one of the library's
/// (`libsmallvec-….rlib`), why it does: `libsmallvec-….replaced`.
const REPLACED_MARK: &str = "replaced";

/// What the library holds of a package, as the wrapper compares it.
pub struct Held<'a> {
    pub version: &'a str,
    pub features: &'a BTreeSet<String>,
}

/// Writes, beside the output of a compilation that stands for a library
/// crate (`held`, same major version), what it asks beyond the library.
pub fn note(
    held: Held,
    package: &str,
    version: &str,
    wanted: &BTreeSet<String>,
    out_dir: &Path,
    stem: &str,
) {
    let why = if held.version != version {
        format!(
            "`{package}` {version} is asked for; the cell library holds {}",
            held.version
        )
    } else {
        let extra: Vec<String> = wanted
            .difference(held.features)
            .map(|f| format!("`{f}`"))
            .collect();
        let features = if extra.len() == 1 {
            "feature"
        } else {
            "features"
        };
        format!(
            "`{package}` {version} is asked for with {features} {}, which the cell library was built without",
            extra.join(", ")
        )
    };
    let _ = std::fs::write(out_dir.join(format!("lib{stem}.{REPLACED_MARK}")), why);
}

/// The compilation the wrapper was started for.
pub struct Unit<'a> {
    pub package: &'a str,
    pub version: &'a str,
    pub manifest_dir: &'a Path,
    pub crate_name: &'a str,
    pub features: BTreeSet<String>,
}

/// What the library holds for a compilation.
pub enum Prebuilt<'a> {
    /// The same crate with every requested feature, built on crates all
    /// linked into place: it can stand in.
    Linkable(&'a Artifact),
    /// The same crate, but some crates it is built on were compiled (their
    /// outputs): a second copy of a library crate.
    BuiltOnOthers(Vec<PathBuf>),
    /// Another version of the same series, or more features: compiled beside
    /// the library's.
    Replaced(Held<'a>),
    NotHeld,
}

pub fn requested_features(args: &[OsString]) -> BTreeSet<String> {
    args.windows(2)
        .filter(|pair| pair[0] == "--cfg")
        .filter_map(|pair| {
            let cfg = pair[1].to_string_lossy();
            cfg.strip_prefix("feature=\"")
                .and_then(|f| f.strip_suffix('"'))
                .map(str::to_owned)
        })
        .collect()
}

/// Whether the library's build of this crate can stand in for `unit`: same
/// package (from the same place), version and target, with every requested
/// feature, and every crate it depends on linked into place (a prebuilt
/// crate built on a compiled one would refer to a copy that is not there).
pub fn prebuilt<'a>(artifacts: &'a [Artifact], unit: &Unit, args: &[OsString]) -> Prebuilt<'a> {
    let same_crate = |a: &&Artifact| a.package == unit.package && a.crate_name == unit.crate_name;
    let Some(artifact) = artifacts
        .iter()
        .filter(same_crate)
        .find(|a| a.manifest_dir == unit.manifest_dir && a.version == unit.version)
    else {
        // Another version from the registry, of the series the library holds.
        return artifacts
            .iter()
            .filter(same_crate)
            .find(|a| same_series(&a.version, unit.version))
            .map_or(Prebuilt::NotHeld, |a| Prebuilt::Replaced(a.held()));
    };
    if !unit.features.is_subset(&artifact.features) {
        return Prebuilt::Replaced(artifact.held());
    }
    // Looked at only for a crate the library holds: each is a file check.
    // A proc macro (a `.so` here) only writes code at compile time: whether
    // it was compiled again (`syn` with more features) changes no type.
    let rebuilt: Vec<PathBuf> = args
        .windows(2)
        .filter(|pair| pair[0] == "--extern")
        .filter_map(|pair| Some(PathBuf::from(pair[1].to_str()?.split_once('=')?.1)))
        .filter(|path| path.extension().is_none_or(|ext| ext != "so"))
        .filter(|path| !path.with_extension(PREBUILT_MARK).is_file())
        .collect();
    if rebuilt.is_empty() {
        Prebuilt::Linkable(artifact)
    } else if artifact.build_time {
        // Only build scripts and proc macros use it: a second copy is theirs.
        Prebuilt::NotHeld
    } else {
        Prebuilt::BuiltOnOthers(rebuilt)
    }
}

impl Artifact {
    fn held(&self) -> Held<'_> {
        Held {
            version: &self.version,
            features: &self.features,
        }
    }
}

/// Whether `asked` can stand where the library's `held` version is: the
/// same semver-compatible series.
pub fn same_series(held: &str, asked: &str) -> bool {
    let (Ok(held), Ok(asked)) = (semver::Version::parse(held), semver::Version::parse(asked))
    else {
        return false;
    };
    let series = |v: &semver::Version| match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, minor) => (0, minor, 0),
        (major, _) => (major, 0, 0),
    };
    series(&held) == series(&asked)
}

/// Set by the cell build for a build that may refuse: a file the first
/// refusal creates, so that one build shows one error.
pub const REFUSAL_ENV: &str = "ASYNCBOOK_REFUSAL";

/// The error for a library crate (`package`) that this build would compile
/// again because crates it is built on were (`rebuilt`, their outputs),
/// as a rustc diagnostic on stderr, where evcxr reads cargo's messages.
pub fn refuse(package: &str, rebuilt: &[PathBuf]) {
    let first = std::env::var_os(REFUSAL_ENV).is_none_or(|file| {
        !matches!(std::fs::File::create_new(file),
                  Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists)
    });
    if !first {
        return;
    }
    let reasons = rebuilt.iter().map(|output| {
        std::fs::read_to_string(output.with_extension(REPLACED_MARK)).unwrap_or_else(|_| {
            let name = output.file_stem().unwrap_or_default().to_string_lossy();
            format!("`{name}` was compiled again in this session")
        })
    });
    let message = format!(
        "this `:dep` needs a second copy of `{package}`, which every cell shares with the \
         cell library: the dependency was not added"
    );
    print_diagnostic(&message, reasons.collect());
}

/// What to do about a `:dep` the library's crates leave no room for.
const ACTION: &str = "ask for a version of the dependency that works with the library's crates \
                      (an older release, or fewer features), or build the cell library with \
                      what it asks for: raise the crate's version in Cargo.lock (`cargo update \
                      -p CRATE`) or add the feature in kernel/cells/Cargo.toml, run `make \
                      build`, and restart the kernel; this session goes on as before";

/// After cargo failed: if it found no release of a `:dep` that works with
/// the library's versions (which `library_lock` requires), says so as a
/// rustc diagnostic.
pub fn explain_conflict(library: &CellLibrary, cargo_stderr: &str) {
    let Some(name) = between(cargo_stderr, "failed to select a version for `") else {
        return;
    };
    let Ok(held) = library.linked_crates() else {
        return;
    };
    // The library's crates cargo could not keep: the one it names, or one
    // whose required version it quotes.
    let kept: Vec<&(String, String)> = held
        .iter()
        .filter(|(package, version)| {
            *package == name
                || (cargo_stderr.contains(&format!("`{package}"))
                    && cargo_stderr.contains(&format!("`={version}`")))
        })
        .collect();
    if kept.is_empty() {
        return;
    }
    // What else was asked of the crate cargo names, in its words.
    let library_requirements: Vec<String> = kept.iter().map(|(_, v)| format!("={v}")).collect();
    let mut asked: Vec<String> = cargo_stderr
        .split(&format!("`{name} = \""))
        .skip(1)
        .chain(cargo_stderr.split("requirements `").skip(1))
        .filter_map(|rest| rest.split(['"', '`']).next())
        .filter(|requirement| !library_requirements.iter().any(|r| r == requirement))
        .map(str::to_owned)
        .collect();
    asked.dedup();
    let mut helps: Vec<String> = asked
        .iter()
        .map(|requirement| format!("`{name}` {requirement} is asked for"))
        .collect();
    helps.extend(kept.iter().map(|(package, version)| {
        format!("the cell library holds `{package}` {version}, and no release of the dependency works with it")
    }));
    print_diagnostic(
        "this `:dep` needs releases of crates other than the cell library's: the dependency was not added",
        helps,
    );
}

/// The text in `text` from after `before` to the next backtick.
fn between(text: &str, before: &str) -> Option<String> {
    let start = text.find(before)? + before.len();
    Some(text[start..].split('`').next()?.to_owned())
}

/// An error with helps, as rustc's JSON on stderr, where evcxr reads
/// cargo's messages.
fn print_diagnostic(message: &str, reasons: Vec<String>) {
    let helps: Vec<String> = reasons.into_iter().chain([ACTION.to_owned()]).collect();
    let children: Vec<Value> = helps
        .iter()
        .map(|text| {
            json!({"message": text, "code": Value::Null, "level": "help", "spans": [],
                   "children": [], "rendered": Value::Null})
        })
        .collect();
    let mut rendered = format!("error: {message}\n");
    for help in &helps {
        rendered.push_str(&format!("  = help: {help}\n"));
    }
    let diagnostic = json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": Value::Null,
        "level": "error",
        "spans": [],
        "children": children,
        "rendered": rendered,
    });
    eprintln!("{diagnostic}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_one_series_replace_each_other() {
        assert!(same_series("0.2.18", "0.2.19"));
        assert!(same_series("1.54.1", "1.60.0"));
        assert!(!same_series("0.2.18", "0.3.0"));
        assert!(!same_series("1.0.0", "2.0.0"));
        assert!(!same_series("0.0.3", "0.0.4"));
    }

    #[test]
    fn notes_say_what_a_dep_asks_beyond_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let features = BTreeSet::from(["std".to_owned()]);
        let wanted = BTreeSet::from(["std".to_owned(), "union".to_owned()]);
        let held = Held {
            version: "1.15.0",
            features: &features,
        };
        note(
            held,
            "smallvec",
            "1.15.0",
            &wanted,
            dir.path(),
            "smallvec-1a",
        );
        let written = std::fs::read_to_string(dir.path().join("libsmallvec-1a.replaced")).unwrap();
        assert_eq!(
            written,
            "`smallvec` 1.15.0 is asked for with feature `union`, which the cell library was built without"
        );
        let held = Held {
            version: "0.2.16",
            features: &features,
        };
        let stem = "pin_project_lite-2b";
        note(
            held,
            "pin-project-lite",
            "0.2.18",
            &wanted,
            dir.path(),
            stem,
        );
        let written =
            std::fs::read_to_string(dir.path().join(format!("lib{stem}.replaced"))).unwrap();
        assert_eq!(
            written,
            "`pin-project-lite` 0.2.18 is asked for; the cell library holds 0.2.16"
        );
    }
}
