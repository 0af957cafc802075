//! Items across cells: a `static` is one instance in the session, a cell of
//! an `impl` runs again, and `dbg!` names the line of the cell that holds it.

mod common;

use common::Kernel;

/// A `static` that holds state is one instance in the session, as in a
/// program: a counter counts on from cell to cell and in tasks, a
/// `OnceLock` set in one cell is set in the next, a `LazyLock` runs its
/// initialiser once. Running the defining cell again starts it over.
#[tokio::test(flavor = "multi_thread")]
async fn statics_are_one_instance() {
    let mut kernel = Kernel::start().await;
    let counter = "use std::sync::atomic::{AtomicU64, Ordering};\n\
                   static HITS: AtomicU64 = AtomicU64::new(0);\n\
                   fn hit() -> u64 { HITS.fetch_add(1, Ordering::SeqCst) + 1 }\n\
                   hit()";
    assert_eq!(kernel.run(counter).await.result().as_deref(), Some("1"));
    assert_eq!(kernel.run("hit()").await.result().as_deref(), Some("2"));
    let from_task = kernel
        .run("tokio::spawn(async { hit() }).await.unwrap()")
        .await;
    assert_eq!(from_task.result().as_deref(), Some("3"));
    let read =
        kernel.run("fn read(a: &AtomicU64) -> u64 { a.load(Ordering::SeqCst) }\nread(&HITS)");
    assert_eq!(read.await.result().as_deref(), Some("3"));

    kernel
        .run("static CONFIG: std::sync::OnceLock<String> = std::sync::OnceLock::new();\nCONFIG.set(\"ready\".into()).unwrap();")
        .await;
    let config = kernel.run("CONFIG.get()").await;
    assert_eq!(config.result().as_deref(), Some("Some(\"ready\")"));
    let lazy = kernel
        .run("static NAME: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| { println!(\"made\"); \"client\".into() });\nNAME.len()")
        .await;
    assert_eq!(
        (lazy.stdout().as_str(), lazy.result().as_deref()),
        ("made\n", Some("6"))
    );
    let again = kernel.run("NAME.len()").await;
    assert_eq!(
        (again.stdout().as_str(), again.result().as_deref()),
        ("", Some("6"))
    );
    // Read as a program reads it: `*NAME` is the `String`, in a cell and a task.
    for (cell, shown) in [
        ("format!(\"{}!\", *NAME)", "\"client!\""),
        ("let name: &str = &NAME;\nname.len()", "6"),
        (
            "tokio::spawn(async { NAME.to_uppercase() }).await.unwrap()",
            "\"CLIENT\"",
        ),
    ] {
        assert_eq!(kernel.run(cell).await.result().as_deref(), Some(shown));
    }
    // A plain value stays a plain value.
    let plain = kernel.run("static LIMIT: u32 = 10;\nLIMIT * 2").await;
    assert_eq!(plain.result().as_deref(), Some("20"));

    assert_eq!(kernel.run(counter).await.result().as_deref(), Some("1"));
}

/// A cell that holds only an `impl` runs again, changed or not, as the
/// usual way to change a method: the new `impl` replaces the old one, and
/// another `impl` of the same type stays beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_cell_of_an_impl_runs_again() {
    let mut kernel = Kernel::start().await;
    kernel.run("struct P { x: i32 }\nlet p = P { x: 1 };").await;
    let triple = "impl P {\n    fn triple(&self) -> i32 { self.x * 3 }\n}";
    kernel.run(triple).await;
    kernel.run(triple).await;
    kernel
        .run("impl P {\n    fn triple(&self) -> i32 { self.x * 30 }\n}")
        .await;
    kernel
        .run("impl P { fn double(&self) -> i32 { self.x * 2 } }")
        .await;
    let display = |shown: &str| {
        format!("impl std::fmt::Display for P {{\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {{ write!(f, \"{shown}{{}}\", self.x) }}\n}}")
    };
    kernel.run(&display("P")).await;
    kernel.run(&display("point ")).await;
    assert_eq!(
        kernel
            .run("(p.triple() + p.double(), p.to_string())")
            .await
            .result()
            .as_deref(),
        Some("(32, \"point 1\")")
    );
    // An error in such a cell is drawn on the cell as written.
    let failed = kernel
        .execute("impl P {\n    fn triple(&self) -> i32 { self.y }\n}")
        .await
        .failed();
    let text = failed.error_text();
    assert!(text.contains("no field `y` on type `&P`"), "{text}");
    assert!(
        text.contains("2 |     fn triple(&self) -> i32 { self.y }"),
        "{text}"
    );
    assert!(!text.contains("__asyncbook"), "{text}");
}

/// `dbg!` names the line of the cell that holds it, in a cell, in a `fn` an
/// earlier cell defined (in a module too) and in a task that runs on after
/// its cell, and hands its value on as std's does; a cell may still import
/// std's.
#[tokio::test(flavor = "multi_thread")]
async fn dbg_names_the_cell_line() {
    let mut kernel = Kernel::start().await;
    let kept = kernel.run("let v = vec![1, 2, 3];").await;
    let shown = kernel.run("dbg!();\nlet n = dbg!(v.len()) + 1;\nn").await;
    assert_eq!(shown.result().as_deref(), Some("4"));
    let cell = shown.count();
    assert_eq!(
        shown.stderr(),
        format!("[{cell}] line 1\n[{cell}] line 2: v.len() = 3\n")
    );
    assert!(kept.count() < shown.count());

    let defined = kernel
        .run("mod math {\n    pub fn twice(x: u32) -> u32 {\n        dbg!(x * 2)\n    }\n}\nuse math::twice;")
        .await;
    let called = kernel.run("let (a, b) = dbg!(twice(1), \"b\");").await;
    let stderr = called.stderr();
    assert!(
        stderr.contains(&format!("[{}] line 3: x * 2 = 2\n", defined.count())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("[{}] line 1: \"b\" = \"b\"\n", called.count())),
        "{stderr}"
    );
    assert_eq!(
        kernel.run("(a, b)").await.result().as_deref(),
        Some("(2, \"b\")")
    );

    let spawner = kernel
        .run("let (tx, rx) = tokio::sync::oneshot::channel::<()>();\nlet h = tokio::spawn(async move {\n    rx.await.ok();\n    dbg!(\"late\");\n});")
        .await;
    let later = kernel.run("tx.send(()).unwrap();\nh.await.unwrap();").await;
    let stderr = later.stderr();
    assert!(
        stderr.contains(&format!(
            "[{}] line 4: \"late\" = \"late\"",
            spawner.count()
        )),
        "{stderr}"
    );
}
