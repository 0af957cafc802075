//! Records the versions of tokio and futures in the cell library, so cells
//! depend on exactly the versions that `libasyncbook.so` holds.

fn main() {
    let lock = std::fs::read_to_string("../Cargo.lock").expect("Cargo.lock beside the workspace");
    for (package, var) in [
        ("tokio", "ASYNCBOOK_TOKIO_VERSION"),
        ("futures", "ASYNCBOOK_FUTURES_VERSION"),
    ] {
        let header = format!("name = \"{package}\"\nversion = \"");
        let start = lock.find(&header).expect("package in Cargo.lock") + header.len();
        let version = &lock[start..start + lock[start..].find('"').unwrap()];
        println!("cargo:rustc-env={var}={version}");
    }
    println!("cargo:rerun-if-changed=../Cargo.lock");
}
