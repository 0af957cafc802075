//! `:dep` of local crates: built with cargo's progress in the notebook,
//! against the cell library's crates, leaving the shared runtime, its tasks
//! and the notebook's values as they were.

mod common;

use std::path::PathBuf;

use common::Kernel;

/// A local crate `name` in the kernel's folder: its `[dependencies]` lines
/// and `src/lib.rs`; the cell that declares it.
fn local_crate(kernel: &Kernel, name: &str, dependencies: &str, lib: &str) -> (PathBuf, String) {
    let dir = kernel.dir().join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\
             [dependencies]\n{dependencies}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    let declared = format!(":dep {name} = {{ path = {:?} }}", dir.display().to_string());
    (dir, declared)
}

/// `:dep` builds a crate the cell library does not hold, shows cargo's
/// progress in the notebook, and leaves the shared runtime and its tasks as
/// they were. The crates are local ones, so the test needs no network.
#[tokio::test(flavor = "multi_thread")]
async fn dep_builds_a_crate_and_shows_its_progress() {
    let mut kernel = Kernel::start().await;
    let (crate_dir, greeting) = local_crate(
        &kernel,
        "greeting",
        "",
        "pub fn hello(name: &str) -> String { format!(\"hello, {name}\") }\n",
    );

    kernel
        .run("let before = tokio::spawn(async { tokio::time::sleep(std::time::Duration::from_millis(50)).await; 7 });")
        .await;
    kernel
        .run("#[derive(Debug)]\nstruct Tally { count: u32 }\nlet mut tally = Tally { count: 3 };")
        .await;
    let dep = kernel.execute(&greeting).await.ok();
    assert!(
        dep.stderr().contains("Compiling greeting v0.3.1"),
        "no build progress in the notebook: {dep:?}"
    );
    assert!(
        !dep.stderr().contains("Compiling tokio"),
        "the cell library's own crates were reported: {dep:?}"
    );
    let greeted = kernel.run("greeting::hello(\"cells\")").await;
    assert_eq!(greeted.result().as_deref(), Some("\"hello, cells\""));
    // The user's dependencies are checked before anything is built.
    let missing = kernel
        .execute(":dep missing = { path = \"/nonexistent/missing\" }")
        .await
        .failed();
    assert!(
        missing.error_text().contains("/nonexistent/missing"),
        "{missing:?}"
    );
    // A local crate may change between cells: the next cell builds it again.
    std::fs::write(
        crate_dir.join("src/lib.rs"),
        "pub fn hello(name: &str) -> String { format!(\"good day, {name}\") }\n",
    )
    .unwrap();
    let greeted = kernel.run("greeting::hello(\"cells\")").await;
    assert_eq!(greeted.result().as_deref(), Some("\"good day, cells\""));
    let joined = kernel.run("before.await.unwrap() * 6").await;
    assert_eq!(joined.result().as_deref(), Some("42"));
    // A crate built on tokio is built against the cell library's copy: its
    // tasks run on the shared runtime.
    let (_, pacing) = local_crate(
        &kernel,
        "pacing",
        "tokio = { version = \"1\", features = [\"rt\", \"time\"] }\n",
        "pub fn doubled_later(n: u32) -> tokio::task::JoinHandle<u32> {\n\
         \x20   tokio::spawn(async move {\n\
         \x20       tokio::time::sleep(std::time::Duration::from_millis(1)).await;\n\
         \x20       n * 2\n\
         \x20   })\n\
         }\n",
    );
    kernel.execute(&pacing).await.ok();
    let paced = kernel.run("pacing::doubled_later(21).await.unwrap()").await;
    assert_eq!(paced.result().as_deref(), Some("42"), "{paced:?}");
    // A crate that asks more features of one of the library's crates
    // (`serde_core`'s `rc`) gets that crate compiled, and the library's
    // crates built on it (`serde_json`) with it, so they agree.
    let (_, sharing) = local_crate(
        &kernel,
        "sharing",
        "serde_core = { version = \"1\", features = [\"rc\"] }\nserde_json = \"1\"\n",
        "pub fn as_json(n: u32) -> String {\n\
         \x20   serde_json::to_string(&std::rc::Rc::new(n)).unwrap()\n\
         }\n",
    );
    kernel.execute(&sharing).await.ok();
    let shared = kernel.run("sharing::as_json(7)").await;
    assert_eq!(shared.result().as_deref(), Some("\"7\""), "{shared:?}");
    // A proc macro that asks more of `syn` gets tokio's macros compiled
    // again, and tokio stays the library's: cells still spawn on the
    // shared runtime.
    let (_, answer) = local_crate(
        &kernel,
        "answer",
        "syn = { version = \"3\", features = [\"extra-traits\"] }\n[lib]\nproc-macro = true\n",
        "#[proc_macro]\n\
         pub fn answer(_: proc_macro::TokenStream) -> proc_macro::TokenStream {\n\
         \x20   \"42u32\".parse().unwrap()\n\
         }\n",
    );
    kernel.execute(&answer).await.ok();
    let spawned = kernel
        .run("tokio::spawn(async { answer::answer!() }).await.unwrap()")
        .await;
    assert_eq!(spawned.result().as_deref(), Some("42"), "{spawned:?}");
    // A value of a type the notebook defined outlives the `:dep` too.
    let kept = kernel.run("tally.count += 1;\ntally").await;
    assert_eq!(
        kept.result().as_deref(),
        Some("Tally { count: 4 }"),
        "{kept:?}"
    );
    assert!(!kept.stderr().contains("lost"), "{kept:?}");
    // Defined again with another field, the type no longer fits the value:
    // the next cell that runs says it is lost, in one piece of output.
    kernel
        .run("#[derive(Debug)]\nstruct Tally { count: u32, total: u32 }")
        .await;
    let after = kernel.run("1 + 1").await;
    let notice = "The variable `tally` was lost: its type was defined again since it was made.\n";
    assert!(
        after
            .of_type("stream")
            .iter()
            .any(|m| m.content["text"] == notice),
        "{after:?}"
    );
}

/// A `:dep` that builds a crate again with other features makes its types
/// other types: a value made before is lost, and a later cell that names it
/// is told which crate was built again.
#[tokio::test(flavor = "multi_thread")]
async fn a_crate_built_again_with_other_features_is_named() {
    let mut kernel = Kernel::start().await;
    let (dir, plain) = local_crate(
        &kernel,
        "flags",
        "\n[features]\nloud = []\n",
        "pub struct Flag(pub u8);\n#[cfg(feature = \"loud\")]\npub fn shout() {}\n",
    );
    kernel
        .run(&format!("{plain}\nlet flag = flags::Flag(3);"))
        .await;
    assert_eq!(kernel.run("flag.0").await.result().as_deref(), Some("3"));
    let loud = format!(
        ":dep flags = {{ path = {:?}, features = [\"loud\"] }}",
        dir.display().to_string()
    );
    kernel.execute(&loud).await.ok();
    kernel.run("flags::shout();").await;
    let said = kernel.execute("flag.0").await.failed().error_text();
    assert!(
        said.contains("error[E0425]")
            && said.contains("its type comes from `flags`, which a `:dep`"),
        "{said}"
    );
}

/// A crate one session built with `:dep` is not built again by a later
/// session of the same kernel and library, which finds the kept build.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_session_finds_a_dep_built_before() {
    let shared_tmp = tempfile::tempdir().unwrap();
    let options = || common::Options {
        env: vec![("TMPDIR".into(), shared_tmp.path().display().to_string())],
        ..Default::default()
    };
    let source = tempfile::tempdir().unwrap();
    let dir = source.path().join("kept");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"kept\"\nversion = \"0.3.1\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    let declared = format!(":dep kept = {{ path = {:?} }}", dir.display().to_string());
    let mut first = Kernel::start_with(options()).await;
    let built = first.execute(&declared).await.ok();
    assert!(
        built.stderr().contains("Compiling kept v0.3.1"),
        "{built:?}"
    );
    assert_eq!(
        first.run("kept::answer()").await.result().as_deref(),
        Some("42")
    );
    drop(first);

    let mut later = Kernel::start_with(options()).await;
    let found = later.execute(&declared).await.ok();
    assert!(!found.stderr().contains("Compiling kept"), "{found:?}");
    assert_eq!(
        later.run("kept::answer()").await.result().as_deref(),
        Some("42")
    );
}
