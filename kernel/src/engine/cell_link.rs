//! Links every cell, and every crate a cell depends on, against the one
//! prebuilt cell library.
//!
//! evcxr compiles each cell as a `cdylib` through cargo. The kernel makes
//! itself cargo's `RUSTC_WRAPPER`:
//! - a crate that the prebuilt library already holds (same package, version
//!   and features: tokio, futures and their dependencies) is not compiled
//!   again: its prebuilt artifacts are linked into place, so cells and `:dep`
//!   crates all refer to the copy inside `libasyncbook.so`;
//! - the cell crate (`ctx`) gets `libasyncbook.so` as a dependency, and its
//!   source is adjusted so the shared runtime comes from `asyncbook::runtime`.
//!
//! Everything else is compiled unchanged.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::rustc_command::{arg_value, exit_code};

/// Set (to the cell library folder) when the kernel binary runs as rustc wrapper.
pub const WRAPPER_ENV: &str = "ASYNCBOOK_RUSTC_WRAPPER";

/// Set (non-empty) while the kernel declares its own dependencies: their
/// builds are not the user's, and they need no checking.
pub const SETUP_ENV: &str = "ASYNCBOOK_KERNEL_SETUP";

/// The crate name evcxr gives to every cell.
pub const CELL_CRATE: &str = "ctx";

/// The metadata every cell crate is compiled with, whatever its dependencies.
const CELL_METADATA: &str = "metadata=asyncbook-cell";

/// The cell library's package name, as cells depend on it.
pub const CELLS_PACKAGE: &str = "asyncbook-cells";

/// The execution count of the cell being built, passed to the wrapper as a
/// build environment variable so the cell knows its number.
pub const CELL_ENV: &str = "ASYNCBOOK_CELL";

/// Cargo's JSON messages from building the cell library (`make install`).
pub const ARTIFACTS_FILE: &str = "asyncbook-artifacts.jsonl";

/// Versions of the crates every cell can use without `:dep`.
pub const TOKIO_VERSION: &str = env!("ASYNCBOOK_TOKIO_VERSION");
pub const FUTURES_VERSION: &str = env!("ASYNCBOOK_FUTURES_VERSION");

/// The prebuilt cell library: `libasyncbook.so` and its dependencies.
#[derive(Clone, Debug)]
pub struct CellLibrary {
    pub dir: PathBuf,
}

/// One prebuilt compilation unit, from cargo's `compiler-artifact` message.
struct Artifact {
    /// Folder of the package's Cargo.toml: tells a registry crate from a local one.
    manifest_dir: PathBuf,
    package: String,
    version: String,
    crate_name: String,
    features: BTreeSet<String>,
    files: Vec<PathBuf>,
}

impl CellLibrary {
    /// Finds the library next to the kernel binary (`target/cells/release`
    /// beside `target/release`) unless `ASYNCBOOK_CELLS_DIR` names one.
    pub fn locate() -> Result<Self> {
        let dir = match std::env::var_os("ASYNCBOOK_CELLS_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => {
                let exe = std::env::current_exe()?.canonicalize()?;
                let bin_dir = exe.parent().context("kernel binary has no folder")?;
                bin_dir.join("../cells/release")
            }
        };
        let library = Self {
            dir: dir.canonicalize().unwrap_or(dir),
        };
        for needed in [library.dylib(), library.dir.join(ARTIFACTS_FILE)] {
            if !needed.is_file() {
                bail!(
                    "the prebuilt cell library is incomplete: {} is missing (run `make install`)",
                    needed.display()
                );
            }
        }
        Ok(library)
    }

    /// The library a rustc wrapper or cell build was started for, if any.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(WRAPPER_ENV).map(|dir| Self { dir: dir.into() })
    }

    fn dylib(&self) -> PathBuf {
        self.dir.join("libasyncbook.so")
    }

    fn deps(&self) -> PathBuf {
        self.dir.join("deps")
    }

    fn artifacts(&self) -> Result<Vec<Artifact>> {
        let text = std::fs::read_to_string(self.dir.join(ARTIFACTS_FILE))?;
        let mut artifacts = Vec::new();
        for line in text.lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let id = message["package_id"].as_str().unwrap_or_default();
            let Some((package, version)) = id.rsplit('#').next().and_then(|p| p.split_once('@'))
            else {
                continue;
            };
            let kind = message["target"]["kind"][0].as_str().unwrap_or_default();
            let crate_name = if kind == "custom-build" {
                "build_script_build".to_owned()
            } else {
                message["target"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('-', "_")
            };
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let manifest = PathBuf::from(message["manifest_path"].as_str().unwrap_or_default());
            artifacts.push(Artifact {
                manifest_dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
                package: package.to_owned(),
                version: version.to_owned(),
                crate_name,
                features: strings(&message["features"]).into_iter().collect(),
                files: strings(&message["filenames"])
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
            });
        }
        Ok(artifacts)
    }

    /// The folders a cell process needs on `LD_LIBRARY_PATH`: this library,
    /// and the standard library it was built against (in `std_libdir`).
    pub fn load_path(&self, std_libdir: &Path) -> Result<OsString> {
        let mut dirs = vec![self.dir.clone(), self.deps(), std_libdir.to_path_buf()];
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            dirs.extend(std::env::split_paths(&old));
        }
        Ok(std::env::join_paths(dirs)?)
    }
}

/// The toolchain's folder of standard library binaries.
pub fn std_libdir() -> Result<PathBuf> {
    let output = Command::new("rustc")
        .args(["--print", "target-libdir"])
        .output()
        .context("running rustc")?;
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}

/// Runs as `RUSTC_WRAPPER` for a crate other than the cell (see
/// `cell_compile::wrap_rustc`): links the prebuilt copy when the cell library
/// holds one, else compiles it.
pub fn wrap_dependency(library: &CellLibrary, rustc: &OsString, args: &[OsString]) -> Result<i32> {
    let crate_name = arg_value(args, "--crate-name").unwrap_or_default();
    let Ok(package) = std::env::var("CARGO_PKG_NAME") else {
        // cargo's own queries (`rustc -vV`, target info) are no compilations.
        return run_rustc(rustc, args);
    };
    let artifacts = library.artifacts()?;
    if let Some(artifact) = prebuilt(&artifacts, &package, &crate_name, args) {
        link_prebuilt(artifact, &crate_name, args)?;
        return Ok(0);
    }
    report_progress(&artifacts, &package, &crate_name);
    run_rustc(rustc, args)
}

fn run_rustc(rustc: &OsString, args: &[OsString]) -> Result<i32> {
    exit_code(Command::new(rustc).args(args))
}

/// Shows `:dep` build progress in the notebook, as cargo would in a terminal.
/// Crates of the cell library's own dependency tree are the kernel's
/// business (built when versions or features differ), not the user's.
fn report_progress(artifacts: &[Artifact], package: &str, crate_name: &str) {
    let quiet = std::env::var_os(SETUP_ENV).is_some_and(|v| !v.is_empty())
        || artifacts.iter().any(|a| a.package == package);
    if crate_name == "build_script_build" || quiet {
        return;
    }
    let Some(socket) = std::env::var_os(super::relay::SOCKET_ENV) else {
        return;
    };
    let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return;
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let line = format!("   Compiling {package} v{version}\n");
    let frame = super::frames::Frame::Stderr(line.into_bytes());
    let _ = super::frames::FrameWriter::new(stream).send(&frame);
}

/// The prebuilt artifact that can stand in for this compilation: same
/// package (from the same place), version and target, with every requested
/// feature.
fn prebuilt<'a>(
    artifacts: &'a [Artifact],
    package: &str,
    crate_name: &str,
    args: &[OsString],
) -> Option<&'a Artifact> {
    let (Ok(manifest_dir), Ok(version)) = (
        std::env::var("CARGO_MANIFEST_DIR"),
        std::env::var("CARGO_PKG_VERSION"),
    ) else {
        return None;
    };
    let wanted: BTreeSet<String> = args
        .windows(2)
        .filter(|pair| pair[0] == "--cfg")
        .filter_map(|pair| {
            let cfg = pair[1].to_string_lossy();
            cfg.strip_prefix("feature=\"")
                .and_then(|f| f.strip_suffix('"'))
                .map(str::to_owned)
        })
        .collect();
    let manifest_dir = PathBuf::from(manifest_dir);
    artifacts.iter().find(|a| {
        a.manifest_dir == manifest_dir
            && a.package == package
            && a.version == version
            && a.crate_name == crate_name
            && wanted.is_subset(&a.features)
    })
}

/// Where the cell library's own source is (so rust-analyzer can read it).
pub fn cells_source(library: &CellLibrary) -> Result<PathBuf> {
    library
        .artifacts()?
        .into_iter()
        .find(|a| a.package == CELLS_PACKAGE)
        .map(|a| a.manifest_dir)
        .context("the cell library is missing from its artifacts manifest")
}

/// A hard link (a copy across file systems) with a fresh mtime: cargo's
/// freshness check compares it with the outputs of build scripts run now.
fn place(file: &Path, target: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(target);
    if std::fs::hard_link(file, target).is_err() {
        std::fs::copy(file, target)?;
    }
    // Read-only: the same inode may be a build script running right now in
    // another session, and opening it for writing would fail (ETXTBSY).
    std::fs::File::open(target)?.set_modified(std::time::SystemTime::now())
}

/// Puts the prebuilt files where cargo expects this compilation's output.
fn link_prebuilt(artifact: &Artifact, crate_name: &str, args: &[OsString]) -> Result<()> {
    let out_dir = PathBuf::from(arg_value(args, "--out-dir").context("no --out-dir")?);
    let extra = args
        .windows(2)
        .filter(|pair| pair[0] == "-C")
        .find_map(|pair| {
            pair[1]
                .to_string_lossy()
                .strip_prefix("extra-filename=")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let stem = format!("{crate_name}{extra}");
    let mut outputs = Vec::new();
    for file in &artifact.files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let target = match file.extension().and_then(|e| e.to_str()) {
            Some(ext @ ("rlib" | "rmeta" | "so")) => out_dir.join(format!("lib{stem}.{ext}")),
            _ if name.starts_with("build") => out_dir.join(&stem),
            _ => continue,
        };
        place(file, &target)
            .with_context(|| format!("placing {} at {}", file.display(), target.display()))?;
        outputs.push(target);
    }
    // cargo reads the dep-info file to decide when to rebuild.
    let dep_info = out_dir.join(format!("{stem}.d"));
    let listed: Vec<String> = outputs
        .iter()
        .map(|p| format!("{}:\n", p.display()))
        .collect();
    std::fs::write(dep_info, listed.concat())?;
    Ok(())
}

/// rustc's arguments for a cell: cargo's, adjusted to link the cell library.
/// Stored variables named in `never` have their `!` written as
/// `asyncbook::variables::Never` (see [`name_never`]).
pub fn cell_args(
    library: &CellLibrary,
    args: &[OsString],
    never: &BTreeSet<String>,
) -> Result<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::with_capacity(args.len() + 4);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        // Whether `arg` is `-C` and the next argument sets `option`.
        let codegen = |option: &str| {
            arg == "-C"
                && args
                    .as_slice()
                    .first()
                    .is_some_and(|v| v.to_string_lossy().starts_with(option))
        };
        if codegen("incremental=") {
            // Every cell is new code: incremental state would only be
            // written, never reused.
            args.next();
        } else if codegen("metadata=") {
            // cargo derives the crate's metadata from its dependencies, and
            // the type ids of the notebook's own types from that: a `:dep`
            // would turn every stored `struct` value into a value of another
            // type, and the store would drop it.
            args.next();
            out.push(arg.clone());
            out.push(CELL_METADATA.into());
        } else if arg == "--extern" {
            // cargo's copy of the cell library is replaced by the canonical path below.
            let value = args.next().context("--extern without a value")?;
            if !value.to_string_lossy().starts_with("asyncbook=") {
                out.push(arg.clone());
                out.push(value.clone());
            }
        } else if Path::new(arg).ends_with("src/lib.rs") {
            out.push(rewrite_source(Path::new(arg), never)?.into_os_string());
        } else {
            out.push(arg.clone());
        }
    }
    out.push("-L".into());
    out.push(format!("dependency={}", library.deps().display()).into());
    out.push("--extern".into());
    out.push(format!("asyncbook={}", library.dylib().display()).into());
    // A cell is small: one codegen unit compiles it faster than sixteen.
    out.push("-Ccodegen-units=1".into());
    Ok(out)
}

/// Writes a copy of evcxr's generated cell source that runs on the cell
/// library (see [`rewrite_cell_source`]).
fn rewrite_source(path: &Path, never: &BTreeSet<String>) -> Result<PathBuf> {
    let source = std::fs::read_to_string(path)?;
    let cell = std::env::var(CELL_ENV).ok().and_then(|n| n.parse().ok());
    let rewritten = rewrite_cell_source(&source, cell, never);
    let target = path.with_file_name("asyncbook_lib.rs");
    std::fs::write(&target, rewritten)?;
    Ok(target)
}

/// evcxr's generated cell source, made to run on the cell library:
/// - the variable store comes from `asyncbook::variables`, and the runtime
///   is `asyncbook::runtime::shared()` instead of one kept in that store;
/// - the async body runs through `asyncbook::__CellRuntime` (interruptible,
///   told the cell's number `cell`).
///
/// Both keep generic code (hash maps, tokio's `block_on`, the runtime's drop
/// glue) out of the cell: it is compiled once in the cell library rather than
/// at every cell. Lines keep their numbers, so evcxr maps diagnostics back to
/// the user's code.
pub fn rewrite_cell_source(source: &str, cell: Option<u64>, never: &BTreeSet<String>) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    replace_variable_store(&mut lines);
    for line in &mut lines {
        name_never(line, never);
    }
    if let Some(open) = lines.iter().position(|l| l.trim() == ".block_on(async {") {
        replace_runtime(&mut lines, open);
        route_body(&mut lines, open, cell);
    }
    // Loading the cell library in every cell, async or not, keeps rustc from
    // linking a second, static copy of tokio into the cell.
    lines.push("extern crate asyncbook as _;".to_owned());
    // A cell's final value is shown with `Debug` on the first compilation.
    lines.push("#[allow(unused_imports)] use asyncbook::display::DebugDisplay as _;".to_owned());
    lines.push("#[allow(unused_imports)] use asyncbook::__CellRuntime as _;".to_owned());
    // Names evcxr's `src/lib.rs` in rustc's dep-info, so cargo rebuilds the
    // cell whenever evcxr writes new code there.
    lines.push("const _: &str = include_str!(\"lib.rs\");".to_owned());
    lines.join("\n") + "\n"
}

/// evcxr stores each variable under the type rust-analyzer infers for it,
/// written into the cell as `put_variable::<T>(stringify!(x), x)` (and
/// `check_variable::<T>`, `take_variable::<T>` in later cells). Stable rustc
/// does not accept `!` in such a type, and rust-analyzer writes `!` for two
/// different things: a block that never ends (`async { loop { .. } }`), which
/// rustc types as producing `()`, and a `-> !` function's result, which stays
/// `!`. So `!` is written as `()`, or as `asyncbook::variables::Never` for the
/// variables named in `never` (the cell compiler finds which; see
/// `cell_compile`). A function pointer's `-> !` is stable and stays. Should
/// evcxr ever write types elsewhere, the `!` would reach rustc again and the
/// never-ending task tests in `shared_runtime.rs` fail.
fn name_never(line: &mut String, never: &BTreeSet<String>) {
    let Some(stored) = StoredType::find(line) else {
        return;
    };
    let ty = &line[stored.ty.clone()];
    if !has_never(ty) {
        return;
    }
    let name = if never.contains(stored.variable) {
        "asyncbook::variables::Never"
    } else {
        "()"
    };
    let mut fixed = String::with_capacity(ty.len() + 8);
    for (at, c) in ty.char_indices() {
        if c == '!' && !ty[..at].trim_end().ends_with("->") {
            fixed.push_str(name);
        } else {
            fixed.push(c);
        }
    }
    line.replace_range(stored.ty, &fixed);
}

/// Whether a type holds a `!` other than a function pointer's `-> !`.
fn has_never(ty: &str) -> bool {
    ty.char_indices()
        .any(|(at, c)| c == '!' && !ty[..at].trim_end().ends_with("->"))
}

/// A stored variable's type in one of evcxr's store lines.
pub struct StoredType<'a> {
    /// `put`, `check` or `take`.
    pub action: &'a str,
    /// Where the type is in the line.
    pub ty: std::ops::Range<usize>,
    pub variable: &'a str,
}

impl<'a> StoredType<'a> {
    pub fn find(line: &'a str) -> Option<Self> {
        const TYPE_START: &str = "_variable::<";
        const TYPE_END: &str = ">(stringify!(";
        let at = line.find(TYPE_START)?;
        let start = at + TYPE_START.len();
        let end = line.rfind(TYPE_END).filter(|&end| end >= start)?;
        let action = line[..at].rsplit('.').next()?;
        let rest = &line[end + TYPE_END.len()..];
        let variable = &rest[..rest.find(')')?];
        Some(Self {
            action,
            ty: start..end,
            variable,
        })
    }

    /// Whether the type holds a `!` that [`name_never`] names.
    pub fn has_never(&self, line: &str) -> bool {
        has_never(&line[self.ty.clone()])
    }
}

/// Blanks lines `range` out, keeping their count.
fn blank(lines: &mut [String], range: std::ops::Range<usize>) {
    for line in &mut lines[range] {
        line.clear();
    }
}

/// evcxr's inlined `mod evcxr_internal_runtime { .. }` (the store cell
/// variables live in between cells) becomes a re-export of the cell
/// library's; the module ends two lines after `create_variable_store`.
fn replace_variable_store(lines: &mut [String]) {
    let Some(start) = lines
        .iter()
        .position(|l| l.trim() == "mod evcxr_internal_runtime {")
    else {
        return;
    };
    let Some(create) = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with("pub fn create_variable_store()"))
        .map(|i| start + i)
    else {
        return;
    };
    let end = create + 3;
    if lines.get(end).map(|l| l.trim()) != Some("}") {
        return;
    }
    blank(lines, start..end + 1);
    lines[start] = "mod evcxr_internal_runtime { pub use asyncbook::variables::*; }".to_owned();
}

/// The four lines before `.block_on(async {` fetch the runtime from evcxr's
/// variable store (`let mut mutex = .. lazy_arc("evcxr_tokio_runtime" ..`
/// .. `mutex.lock() ..`); the session's one runtime stands in for them.
fn replace_runtime(lines: &mut [String], open: usize) {
    let Some(start) = open.checked_sub(4) else {
        return;
    };
    let fetches_runtime = lines[start].trim() == "let mut mutex ="
        && lines[start + 1].contains("lazy_arc(\"evcxr_tokio_runtime\"")
        && lines[start + 3].trim_start().starts_with("mutex.lock()");
    if fetches_runtime {
        blank(lines, start..open);
        lines[start] = "asyncbook::runtime::shared()".to_owned();
    }
}

/// evcxr wraps an async cell as `.block_on(async {` .. `});` followed by its
/// panic guard `})) {`; the user's own code may contain `});` lines, so the
/// body's end is the last `});` before that guard. The body runs in an inner
/// block whose value is dropped: a cell that uses `?` ends in
/// `Ok::<(), EvcxrUserCodeError>(())`, and the library's runner takes `()`.
fn route_body(lines: &mut [String], open: usize, cell: Option<u64>) {
    let guard = lines[open..].iter().position(|l| l.trim() == "})) {");
    let close = guard.and_then(|guard| {
        lines[open..open + guard]
            .iter()
            .rposition(|l| l.trim() == "});")
            .map(|i| open + i)
    });
    if let Some(close) = close {
        lines[open] = lines[open].replace(
            ".block_on(async {",
            &format!(".__asyncbook_run({cell:?}, Box::pin(async {{ let _ = async {{"),
        );
        lines[close] = lines[close].replace("});", "}.await; }));");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of evcxr's generated code for an async cell (its own
    /// helper module abridged).
    const GENERATED: &str = "#![allow(unused_imports, unused_mut, dead_code)]
mod evcxr_internal_runtime {
pub struct VariableStore {}
pub fn create_variable_store() -> *mut VariableStore {
    std::ptr::null_mut()
}
}
#[unsafe(no_mangle)]
pub extern \"C\" fn run_user_code_1(
mut evcxr_variable_store: *mut evcxr_internal_runtime::VariableStore)
  -> *mut evcxr_internal_runtime::VariableStore {
match std::panic::catch_unwind(
  std::panic::AssertUnwindSafe(||{
let mut mutex =
evcxr_variable_store.lazy_arc(\"evcxr_tokio_runtime\", ||
std::sync::Mutex::new(tokio::runtime::Runtime::new().unwrap())); match
mutex.lock() { Ok(guard) => guard, Err(poisoned) => poisoned.into_inner(), }
.block_on(async {
tokio::spawn(async {
    1
});
});
})) {
  Ok(_) => {}
  Err(_) => {}
}}
evcxr_variable_store
}";

    #[test]
    fn cell_body_runtime_and_store_come_from_the_cell_library() {
        let rewritten = rewrite_cell_source(GENERATED, Some(7), &BTreeSet::new());
        let lines: Vec<&str> = rewritten.lines().collect();
        let original: Vec<&str> = GENERATED.lines().collect();
        assert_eq!(
            lines.len(),
            original.len() + 4,
            "line numbers must not move"
        );
        assert_eq!(
            lines[1],
            "mod evcxr_internal_runtime { pub use asyncbook::variables::*; }"
        );
        assert!(lines[2..7].iter().all(|l| l.is_empty()), "{lines:#?}");
        assert_eq!(lines[7], "#[unsafe(no_mangle)]");
        assert_eq!(lines[13], "asyncbook::runtime::shared()");
        assert!(lines[14..17].iter().all(|l| l.is_empty()), "{lines:#?}");
        assert_eq!(
            lines[17],
            ".__asyncbook_run(Some(7), Box::pin(async { let _ = async {"
        );
        // The user's own `});` stays; evcxr's closing one ends both blocks.
        assert_eq!(lines[20], "});");
        assert_eq!(lines[21], "}.await; }));");
        assert_eq!(lines[22], "})) {");
        assert!(!rewritten.contains("Runtime::new"));
        assert!(lines.contains(&"extern crate asyncbook as _;"));
        assert_eq!(
            lines.last(),
            Some(&"const _: &str = include_str!(\"lib.rs\");")
        );
    }

    #[test]
    fn never_in_a_stored_type_becomes_unit() {
        let generated = "\
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(ticker), ticker);
vars_ok &= evcxr_variable_store.check_variable::<Result<(!, i32), fn() -> !>>(stringify!(r));
let mut t = evcxr_variable_store.take_variable::<Vec<[!; 0]>>(stringify!(t));
println!(\"{}\", !done);";
        let rewritten = rewrite_cell_source(generated, None, &BTreeSet::new());
        let lines: Vec<&str> = rewritten.lines().collect();
        assert_eq!(
            lines[0],
            "evcxr_variable_store.put_variable::<tokio::task::JoinHandle<()>>(stringify!(ticker), ticker);"
        );
        assert_eq!(
            lines[1],
            "vars_ok &= evcxr_variable_store.check_variable::<Result<((), i32), fn() -> !>>(stringify!(r));"
        );
        assert_eq!(
            lines[2],
            "let mut t = evcxr_variable_store.take_variable::<Vec<[(); 0]>>(stringify!(t));"
        );
        // The user's own code keeps its `!`s.
        assert_eq!(lines[3], "println!(\"{}\", !done);");
    }

    #[test]
    fn never_of_variables_found_to_keep_it_is_named() {
        let generated = "\
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(server), server);
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(ticker), ticker);";
        let never = BTreeSet::from(["server".to_owned()]);
        let rewritten = rewrite_cell_source(generated, None, &never);
        let lines: Vec<&str> = rewritten.lines().collect();
        assert_eq!(
            lines[0],
            "evcxr_variable_store.put_variable::<tokio::task::JoinHandle<asyncbook::variables::Never>>(stringify!(server), server);"
        );
        assert!(lines[1].contains("JoinHandle<()>"), "{}", lines[1]);
        let stored = StoredType::find(generated.lines().next().unwrap()).unwrap();
        assert_eq!((stored.action, stored.variable), ("put", "server"));
        let take = "let mut t = evcxr_variable_store.take_variable::<Vec<u8>>(stringify!(t));";
        let stored = StoredType::find(take).unwrap();
        assert_eq!((stored.action, stored.variable), ("take", "t"));
        assert!(!stored.has_never(take));
    }

    #[test]
    fn unexpected_shapes_are_left_alone() {
        let plain = "fn run_user_code_2() {\nlet x = 1;\n}";
        let rewritten = rewrite_cell_source(plain, None, &BTreeSet::new());
        assert!(rewritten.starts_with(plain), "{rewritten}");
    }
}
