//! Installing the Rust way, outside a clone: `cargo install --path kernel`
//! into a folder of its own, then `asyncbook install`, which builds the cell
//! library into the user's data folder; the kernelspec's kernel then runs
//! async cells from another folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{cargo, Kernel, Options};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The target folder of this build (`target`, above `release/asyncbook`):
/// cargo install reuses what is built there instead of building it again.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_asyncbook"))
        .ancestors()
        .nth(2)
        .expect("the binary sits in target/<profile>")
        .to_path_buf()
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kernel_installed_with_cargo_install_runs_async_cells() {
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let [root, data, jupyter, elsewhere] =
        ["root", "data", "jupyter", "elsewhere"].map(|name| scratch.path().join(name));
    std::fs::create_dir(&elsewhere).unwrap();
    // Offline: the crates are in cargo's cache since the kernel was built.
    let installed = cargo()
        .args(["install", "--locked", "--offline", "--path"])
        .arg(repo().join("kernel"))
        .arg("--root")
        .arg(&root)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("running cargo install");
    assert!(installed.status.success(), "{}", said(&installed));
    let asyncbook = root.join("bin/asyncbook");
    let user = |command: &mut Command| -> Output {
        command
            .env("XDG_DATA_HOME", &data)
            .env("JUPYTER_DATA_DIR", &jupyter)
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("ASYNCBOOK_CELLS_DIR")
            .current_dir(&elsewhere)
            .output()
            .expect("running the installed asyncbook")
    };

    // No library yet: the kernel says what to do.
    let notebook = repo().join("tests/runner/pass.ipynb");
    let early = user(Command::new(&asyncbook).arg("test").arg(&notebook));
    assert!(!early.status.success());
    assert!(
        said(&early).contains("(run `asyncbook install`)"),
        "{}",
        said(&early)
    );

    let install = user(Command::new(&asyncbook).arg("install"));
    assert!(install.status.success(), "{}", said(&install));
    let library = std::fs::read_dir(data.join("asyncbook/cells"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("target/release"))
        .collect::<Vec<_>>();
    assert_eq!(library.len(), 1, "{library:?}");
    assert!(library[0].join("libasyncbook.so").is_file());
    assert_eq!(
        std::fs::read(library[0].join("Cargo.lock")).unwrap(),
        std::fs::read(repo().join("Cargo.lock")).unwrap(),
        "the library is built with the workspace's lock"
    );

    let spec = std::fs::read_to_string(jupyter.join("kernels/asyncbook/kernel.json")).unwrap();
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let argv: Vec<&str> = spec["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    let program = asyncbook.canonicalize().unwrap();
    assert_eq!(
        argv,
        [
            program.to_str().unwrap(),
            "kernel",
            "--connection-file",
            "{connection_file}"
        ]
    );

    let mut kernel = Kernel::start_with(Options {
        program: Some(argv[0].into()),
        workdir: Some(elsewhere.clone()),
        env: [
            ("XDG_DATA_HOME", data.to_str().unwrap()),
            ("ASYNCBOOK_SPARES", "0"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .to_vec(),
        ..Options::default()
    })
    .await;
    let cell = "let answer = tokio::spawn(async {\n\
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;\n\
                    6 * 7\n\
                });\n\
                println!(\"in {}\", std::env::current_dir().unwrap().display());\n\
                answer.await.unwrap()";
    let run = kernel.execute(cell).await;
    assert_eq!(run.status(), "ok", "{}", run.error_text());
    assert_eq!(run.result().as_deref(), Some("42"));
    let folder = elsewhere.canonicalize().unwrap();
    assert_eq!(run.stdout(), format!("in {}\n", folder.display()));
}
