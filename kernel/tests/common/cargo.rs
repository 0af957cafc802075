//! Cargo started from a test, as a user would start it.

use std::process::Command;

/// `cargo` (the one running the tests) without what it told this test about
/// its package: build scripts that watch these variables (ring's) would see
/// them changed and rebuild.
pub fn cargo() -> Command {
    let mut command = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let about_package = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        if about_package {
            command.env_remove(&*name);
        }
    }
    command
}
