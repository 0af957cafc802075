//! A stable identity for every crate a session compiles, given to rustc in
//! place of cargo's `-C metadata`.
//!
//! Answers an evcxr behaviour: evcxr keeps a cell's variables as
//! `Box<dyn Any>` and drops those whose `TypeId` changed since they were
//! stored ("its type was defined again"). rustc derives a crate's `TypeId`s
//! from its `-C metadata`, which cargo hashes from the crate's whole build
//! graph, proc macros and `syn` included: a later `:dep` on a proc-macro crate
//! (`async-trait`) adds features to `syn`, and every crate built on tokio
//! (`tokio-util`) was given a new metadata, so its values were lost though
//! nothing about their types changed. The wrapper gives each crate it
//! compiles an identity made of what its types depend on: package, version,
//! source, cfgs (features among them), crate type and the identities of the
//! libraries it links, not of proc macros, which only write code. A crate
//! whose features or dependencies really changed gets a new identity, and
//! evcxr still says its values were lost. Should evcxr keep variables some
//! other way, this changes nothing; `dependencies.rs`
//! (`a_later_dep_keeps_values_of_earlier_crates`) checks the values survive.

use std::ffi::OsString;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

/// Beside a crate's outputs (`libtokio_util-….rlib`), its identity:
/// `libtokio_util-….identity`.
const IDENTITY_MARK: &str = "identity";

/// The identity of a crate compiled with `args`, for `package` at
/// `version` from `manifest_dir`.
pub fn of_compiled(package: &str, version: &str, manifest_dir: &Path, args: &[OsString]) -> String {
    let mut hasher = DefaultHasher::new();
    (package, version, manifest_dir).hash(&mut hasher);
    let mut cfgs: Vec<&OsString> = values(args, "--cfg").collect();
    cfgs.sort();
    cfgs.hash(&mut hasher);
    values(args, "--crate-type").for_each(|t| t.hash(&mut hasher));
    values(args, "--edition").for_each(|e| e.hash(&mut hasher));
    // Libraries only: a proc macro (`.so`) changes no type of this crate.
    let mut linked: Vec<String> = values(args, "--extern")
        .filter_map(|value| {
            let (name, path) = value.to_str()?.split_once('=')?;
            let path = PathBuf::from(path);
            (path.extension().is_some_and(|ext| ext != "so")).then(|| {
                let identity = std::fs::read_to_string(path.with_extension(IDENTITY_MARK))
                    .unwrap_or_else(|_| path.display().to_string());
                format!("{name}={identity}")
            })
        })
        .collect();
    linked.sort();
    linked.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The identity of a crate the library holds, linked into place: its types
/// are the library's, whatever cargo's metadata for it.
pub fn of_prebuilt(package: &str, version: &str, crate_name: &str) -> String {
    let mut hasher = DefaultHasher::new();
    ("asyncbook-library", package, version, crate_name).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Writes `identity` beside the outputs named `stem` in `out_dir`.
pub fn record(out_dir: &Path, stem: &str, identity: &str) -> std::io::Result<()> {
    std::fs::write(out_dir.join(format!("lib{stem}.{IDENTITY_MARK}")), identity)
}

/// `args` with cargo's `-C metadata=…` replaced by `identity`.
pub fn with_identity(args: &[OsString], identity: &str) -> Vec<OsString> {
    let mut out = args.to_vec();
    for i in 1..out.len() {
        if out[i - 1] == "-C" && out[i].to_string_lossy().starts_with("metadata=") {
            out[i] = format!("metadata={identity}").into();
        }
    }
    out
}

fn values<'a>(args: &'a [OsString], flag: &'a str) -> impl Iterator<Item = &'a OsString> {
    args.windows(2)
        .filter(move |pair| pair[0] == flag)
        .map(|pair| &pair[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn proc_macros_leave_the_identity_and_libraries_change_it() {
        let dir = tempfile::tempdir().unwrap();
        let tokio = dir.path().join("libtokio-1.rlib");
        record(dir.path(), "tokio-1", "tokio-identity").unwrap();
        let base = [
            "--crate-name",
            "tokio_util",
            "--crate-type",
            "lib",
            "--cfg",
            "feature=\"rt\"",
            "-C",
            "metadata=aaaa",
        ];
        let with = |extern_: &[String]| {
            let mut all = args(&base);
            for e in extern_ {
                all.push("--extern".into());
                all.push(e.into());
            }
            of_compiled(
                "tokio-util",
                "0.7.0",
                Path::new("/registry/tokio-util"),
                &all,
            )
        };
        let tokio_dep = format!("tokio={}", tokio.display());
        let plain = with(std::slice::from_ref(&tokio_dep));
        let macro_one = with(&[tokio_dep.clone(), "pin_macro=/t/libpin_macro-1.so".into()]);
        let macro_two = with(&[tokio_dep.clone(), "pin_macro=/t/libpin_macro-2.so".into()]);
        assert_eq!(
            macro_one, macro_two,
            "a proc macro rebuilt changed the identity"
        );
        record(dir.path(), "tokio-1", "another tokio").unwrap();
        assert_ne!(
            with(&[tokio_dep]),
            plain,
            "a library rebuilt left the identity"
        );

        let replaced = with_identity(&args(&base), "beef");
        assert_eq!(replaced[7], "metadata=beef");
        assert_eq!(replaced.len(), base.len());
    }
}
