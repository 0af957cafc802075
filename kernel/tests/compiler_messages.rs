//! rustc's warnings and errors about a cell, in the cell's terms: warnings
//! before the cell's output, errors with the notes that explain them.

mod common;

use common::Kernel;

/// rustc's warnings about a cell's own code appear on stderr, rendered as
/// rustc does, before the cell's output; `:warnings off` hides them.
#[tokio::test(flavor = "multi_thread")]
async fn warnings_about_the_cell_are_shown() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("async fn brew(kind: &str) -> String { format!(\"a cup of {kind}\") }")
        .await;
    let forgotten = kernel
        .run("let cups = 1;\n    brew(\"latte\");\nprintln!(\"served\");")
        .await;
    let warning = "warning: unused implementer of `std::future::Future` that must be used\n\
                   \x20--> cell:2:5\n\
                   \x20 |\n\
                   2 |     brew(\"latte\");\n\
                   \x20 |     ^^^^^^^^^^^^^\n\
                   \x20 |\n\
                   \x20 = note: futures do nothing unless you `.await` or poll them\n";
    assert!(forgotten.stderr().starts_with(warning), "{forgotten:?}");
    let streams = forgotten.of_type("stream");
    assert_eq!(
        streams[0].content["name"], "stderr",
        "the warning comes before the cell's output: {forgotten:?}"
    );
    assert_eq!(forgotten.stdout(), "served\n");

    // An item's warning is shown once, where the item is defined.
    let item = kernel.run("fn helper() -> u32 { let spare = 1; 2 }").await;
    assert!(
        item.stderr()
            .contains("warning: unused variable: `spare`\n --> cell:1:26"),
        "{item:?}"
    );
    let later = kernel.run("helper()").await;
    assert_eq!(later.stderr(), "");
    assert_eq!(later.result().as_deref(), Some("2"));

    let quiet = kernel.run(":warnings off\nbrew(\"mocha\");").await;
    assert_eq!(quiet.stderr(), "", "{quiet:?}");
    let loud = kernel.run(":warnings on\nbrew(\"mocha\");").await;
    assert!(
        loud.stderr().starts_with("warning: unused implementer"),
        "{loud:?}"
    );
}

/// A failed cell's error is rustc's, with rustc's notes placed in the
/// cell: why a future is not `Send` points at the value and the `.await`.
#[tokio::test(flavor = "multi_thread")]
async fn errors_show_the_notes_that_explain_them() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("let shared = std::sync::Arc::new(std::sync::Mutex::new(0u32));")
        .await;
    let held = kernel
        .execute(
            "let counter = shared.clone();\n\
             tokio::spawn(async move {\n\
             \x20   let guard = counter.lock().unwrap();\n\
             \x20   tokio::task::yield_now().await;\n\
             \x20   *guard\n\
             }).await.unwrap()",
        )
        .await
        .failed();
    let said = held.error_text();
    assert!(
        said.contains("error: future cannot be sent between threads safely\n --> cell:2:1\n"),
        "{said}"
    );
    // The note names the item; no line of tokio's source, which moves with
    // each release.
    assert!(
        said.contains("= note: required by a bound in `tokio::spawn`\n"),
        "{said}"
    );
    assert!(!said.contains("tokio-1."), "{said}");
    let note = "note: future is not `Send` as this value is used across an await\n\
                \x20--> cell:4:30\n\
                \x20 |\n\
                3 |     let guard = counter.lock().unwrap();\n\
                \x20 |         ----- has type `std::sync::MutexGuard<'_, u32>` which is not `Send`\n\
                4 |     tokio::task::yield_now().await;\n\
                \x20 |                              ^^^^^ await occurs here, with `guard` maybe used later\n";
    assert!(said.contains(note), "{said}");
    assert_eq!(
        kernel
            .run("*shared.lock().unwrap()")
            .await
            .result()
            .as_deref(),
        Some("0")
    );

    // A wrong argument to the notebook's own function is rustc's error at
    // the call, not only the note on the function.
    kernel
        .run("fn shout(text: &str) -> String { text.to_uppercase() }")
        .await;
    let called = kernel.execute("shout(String::from(\"hi\"))").await.failed();
    let said = called.error_text();
    assert!(
        said.contains("error[E0308]: mismatched types\n --> cell:1:7\n"),
        "{said}"
    );
    assert!(said.contains("expected `&str`, found `String`"), "{said}");
    // Drawn on the cell as written, not as the kernel ran it (with the types
    // it wrote into the `let`s before the error).
    let typed = kernel
        .execute("let name = String::from(\"x\"); let count = 3; let bad: u8 = \"q\";")
        .await
        .failed();
    let said = typed.error_text();
    assert!(
        said.contains(" --> cell:1:60\n")
            && said.contains("1 | let name = String::from(\"x\"); let count = 3; let bad"),
        "{said}"
    );
    // A variable an earlier cell moved away is named with that cell.
    let moved = kernel
        .run("let handed_on = vec![1u8];\nlet taker = handed_on;")
        .await;
    let gone = kernel.execute("handed_on.len()").await.failed();
    let said = gone.error_text();
    assert!(
        said.contains(&format!(
            "= help: `handed_on` was moved away by cell [{}]",
            moved.count()
        )),
        "{said}"
    );
    // A value without `Debug` at the end of a cell is pointed at.
    let shown = kernel.execute("struct Plain(u8);\nPlain(1)").await.failed();
    let said = shown.error_text();
    assert!(
        said.contains(" --> cell:2:1\n") && said.contains("the cell's value, shown with `Debug`"),
        "{said}"
    );
    // A closure kept in a variable that borrows another is told why not.
    kernel.run("let threshold = 5u32;").await;
    let closure = kernel
        .execute("let is_big = |v: u32| v > threshold;")
        .await
        .failed();
    let said = closure.error_text();
    assert!(
        said.contains("a variable of the cell lives on after it"),
        "{said}"
    );
    // `?` on an `Option` names the cell's `Result`, not evcxr's type.
    let option = kernel
        .execute("let first = vec![1u8].first().copied()?;")
        .await
        .failed();
    let said = option.error_text();
    assert!(
        said.contains("compatible with the cell's `Result`"),
        "{said}"
    );
    // A value whose type was defined again is lost, not moved.
    kernel
        .run("struct Job { id: u32 }\nlet job = Job { id: 1 };")
        .await;
    kernel.run("struct Job { id: u32, name: String }").await;
    let lost = kernel.execute("job.id").await.failed();
    let said = lost.error_text();
    assert!(
        said.contains(&format!(
            "`job` was lost when cell [{}] ran: its type was defined again",
            lost.count()
        )) && !said.contains("moved away"),
        "{said}"
    );
    // A future left as the value is told to be awaited, in the cell's terms.
    let future = kernel.execute("async { 1 }").await.failed();
    let said = future.error_text();
    assert!(said.contains("end the cell with `.await`"), "{said}");
    assert!(!said.contains("asyncbook_lib"), "{said}");
    // A cell cut short is told so in the user's terms.
    let cut = kernel.execute("let q = 5").await.failed();
    let said = cut.error_text();
    assert!(
        said.contains("expected `;`, found <end of input>") && !said.contains("evcxr"),
        "{said}"
    );
}
