//! evcxr's own commands as people coming from evcxr type them: `:types`
//! shows each result after its type, `:doc` (and Shift-Tab) shows an item's
//! documentation, for the session's items and the cell library's crates.

mod common;

use common::Kernel;
use serde_json::json;

/// `:types` switches on evcxr's `: TYPE = value` form, with types written
/// short as in code (values, awaited values, tokio's handles, the session's
/// own structs), and off again.
#[tokio::test(flavor = "multi_thread")]
async fn types_are_shown_the_evcxr_way() {
    let mut kernel = Kernel::start().await;
    let plain = kernel.run("42").await;
    assert_eq!(plain.result().as_deref(), Some("42"));

    let on = kernel.run(":types").await;
    assert_eq!(on.stdout(), "Types: true\n");
    assert_eq!(on.result(), None);
    for (code, shown) in [
        ("42", ": i32 = 42"),
        ("async { 7u8 }.await", ": u8 = 7"),
        (
            "vec![Some(String::from(\"a\"))]",
            ": Vec<Option<String>> = [Some(\"a\")]",
        ),
        ("tokio::spawn(async { 1 }).await.unwrap()", ": i32 = 1"),
    ] {
        let result = kernel.run(code).await;
        assert_eq!(result.result().as_deref(), Some(shown), "{code}");
    }
    let handle = kernel.run("tokio::spawn(async { 1 })").await;
    let handle = handle.result().unwrap_or_default();
    assert!(
        handle.starts_with(": JoinHandle<i32> = JoinHandle"),
        "{handle}"
    );
    kernel
        .run("#[derive(Debug)]\nstruct Point { x: i32 }")
        .await;
    let point = kernel.run("(Point { x: 1 }, ())").await;
    assert_eq!(
        point.result().as_deref(),
        Some(": (Point, ()) = (Point { x: 1 }, ())")
    );
    // A unit result stays unshown; a cell of a command and code works.
    assert_eq!(kernel.run("let a = 1;").await.result(), None);
    let off = kernel.run(":types\n40 + 2").await;
    assert_eq!(off.stdout(), "Types: false\n");
    assert_eq!(off.result().as_deref(), Some("42"));
}

/// `:doc NAME` shows the item's doc comment below its signature: a function
/// and a struct of the session (documented on a cell's first line, where
/// evcxr would skip the comment) and tokio's own documentation; Shift-Tab
/// shows the same. No name the notebook never wrote (evcxr's crate `ctx`).
#[tokio::test(flavor = "multi_thread")]
async fn doc_shows_doc_comments() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "/// Adds one to `x`.\n\
             ///\n\
             /// Never overflows in tests.\n\
             fn add_one(x: i32) -> i32 { x + 1 }\n\
             /// A point on the plane.\n\
             #[derive(Debug)]\n\
             struct Point { x: i32, y: i32 }",
        )
        .await;
    let doc = kernel.run(":doc add_one").await;
    let text = doc.result().unwrap_or_default();
    assert!(text.starts_with("fn add_one(x: i32) -> i32"), "{text}");
    assert!(text.contains("Adds one to x."), "{text}");
    assert!(text.contains("Never overflows in tests."), "{text}");
    let html = doc.of_type("execute_result")[0].content["data"]["text/html"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        html.contains("<p>Adds one to <code>x</code>.</p>"),
        "{html}"
    );
    assert!(
        !html.contains("ctx") && !text.contains("ctx"),
        "{text}\n{html}"
    );

    let point = kernel.run(":doc Point").await.result().unwrap_or_default();
    assert!(point.contains("struct Point"), "{point}");
    assert!(point.contains("A point on the plane."), "{point}");

    let spawn = kernel
        .run(":doc tokio::spawn")
        .await
        .result()
        .unwrap_or_default();
    assert!(
        spawn.contains("pub fn spawn<F>(future: F) -> JoinHandle<F::Output>"),
        "{spawn}"
    );
    assert!(spawn.contains("Spawns a new asynchronous task"), "{spawn}");
    let channel = kernel
        .run(":doc tokio::sync::mpsc::channel")
        .await
        .result()
        .unwrap_or_default();
    assert!(
        channel.contains("Creates a bounded mpsc channel"),
        "{channel}"
    );
    assert!(
        !channel.contains("/work") && !channel.contains(".cargo"),
        "{channel}"
    );

    let code = "add_one";
    let inspect = json!({"code": code, "cursor_pos": code.len(), "detail_level": 0});
    let (reply, _) = kernel.request("inspect_request", inspect).await;
    let hover = reply.content["data"]["text/plain"]
        .as_str()
        .unwrap_or_default();
    assert!(hover.starts_with("fn add_one"), "{reply:?}");
    assert!(hover.contains("Adds one to x."), "{reply:?}");

    // A name that is not there says so, and the session goes on.
    let missing = kernel.execute(":doc no_such_item").await;
    let said = missing.shown() + &missing.result().unwrap_or_default();
    assert!(said.contains("No documentation found"), "{missing:?}");
    assert_eq!(
        kernel.run("add_one(41)").await.result().as_deref(),
        Some("42")
    );
}
