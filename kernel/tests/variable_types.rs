//! The types variables are kept under from cell to cell: inferred by the
//! engine, asked of rustc where the engine cannot tell, and boxed where no
//! type can be written.

mod common;

use common::Kernel;

/// Values whose type cannot be written down are boxed by the kernel and
/// kept: lazy futures (run only when a later cell awaits them), async
/// blocks, pinned futures, `join_all`, streams, iterator adaptors, closures
/// with their state, and a future that is not `Send`.
#[tokio::test(flavor = "multi_thread")]
async fn values_of_unnameable_types_live_on() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "use futures::StreamExt;\n\
             async fn brew(kind: &str) -> String {\n\
                 println!(\"brewing {kind}\");\n\
                 format!(\"a cup of {kind}\")\n\
             }",
        )
        .await;
    let ordered = kernel.run("let order = brew(\"espresso\");").await;
    assert_eq!(ordered.shown(), "", "the future ran before its await");
    let cup = kernel.run("order.await").await;
    assert_eq!(cup.stdout(), "brewing espresso\n");
    assert_eq!(cup.result().as_deref(), Some("\"a cup of espresso\""));
    // Awaited once, the future is gone.
    let again = kernel.execute("order.await").await.failed();
    assert!(
        again.shown().contains("cannot find value `order`"),
        "{again:?}"
    );

    kernel
        .run(
            "let later = async { 2 + 3 };\n\
             let pinned = Box::pin(async { 7 });\n\
             let all = futures::future::join_all((1..=3).map(|i| async move { i * 2 }));",
        )
        .await;
    let joined = kernel.run("(later.await, pinned.await, all.await)").await;
    assert_eq!(joined.result().as_deref(), Some("(5, 7, [2, 4, 6])"));

    kernel
        .run(
            "let tens = futures::stream::iter(0..3).then(|x| async move { x * 10 });\n\
             let mut evens = (0..).filter(|n| n % 2 == 0);",
        )
        .await;
    kernel.run("evens.next();").await;
    let consumed = kernel
        .run("(tens.collect::<Vec<_>>().await, evens.next())")
        .await;
    assert_eq!(consumed.result().as_deref(), Some("([0, 10, 20], Some(2))"));

    kernel
        .run(
            "let mut count = 0;\n\
             let mut bump = move |by: i32| { count += by; count };\n\
             let greet = |name: &str| format!(\"hello {name}\");\n\
             let take = { let word = String::from(\"once\"); move || word };",
        )
        .await;
    kernel.run("bump(2);").await;
    let called = kernel.run("(bump(3), greet(\"Ada\"), take())").await;
    assert_eq!(
        called.result().as_deref(),
        Some("(5, \"hello Ada\", \"once\")")
    );

    // Closures whose calls return futures, async closures, `impl FnMut`
    // from a function, and a vector of futures.
    kernel
        .run(
            "let order_again = |kind: &'static str| brew(kind);\n\
             let double = async |x: u32| x * 2;\n\
             fn counter() -> impl FnMut() -> u32 { let mut n = 0; move || { n += 1; n } }\n\
             let mut next_id = counter();\n\
             let orders: Vec<_> = [\"tea\", \"mocha\"].into_iter().map(brew).collect();",
        )
        .await;
    let called = kernel
        .run("(order_again(\"latte\").await, double(21).await, next_id(), next_id(), futures::future::join_all(orders).await)")
        .await;
    assert_eq!(
        called.result().as_deref(),
        Some("(\"a cup of latte\", 42, 1, 2, [\"a cup of tea\", \"a cup of mocha\"])")
    );
    // Values of the user's own traits, and of std's, returned as `impl
    // Trait`: kept as trait objects, the traits' methods callable later.
    kernel
        .run(
            "trait Shape { fn area(&self) -> f64; }\n\
             struct Square(f64);\n\
             impl Shape for Square { fn area(&self) -> f64 { self.0 * self.0 } }\n\
             fn make(side: f64) -> impl Shape { Square(side) }\n\
             fn listed() -> impl std::fmt::Debug { vec![1, 2] }\n\
             let square = make(3.0);\n\
             let list = listed();",
        )
        .await;
    let used = kernel.run("format!(\"{} {list:?}\", square.area())").await;
    assert_eq!(used.result().as_deref(), Some("\"9 [1, 2]\""));
    // A value the cell still changes after its `let` (futures pushed into
    // a `FuturesUnordered`) is boxed once the cell is done with it.
    kernel
        .run(
            "let mut pending = futures::stream::FuturesUnordered::new();\n\
             for kind in [\"tea\", \"mocha\"] { pending.push(brew(kind)); }",
        )
        .await;
    let drained = kernel
        .run("let mut cups: Vec<String> = pending.collect().await; cups.sort(); cups")
        .await;
    assert_eq!(
        drained.result().as_deref(),
        Some("[\"a cup of mocha\", \"a cup of tea\"]")
    );
    // A value that borrows lasts to the end of its cell, which says so, as
    // a program's borrow lasts to the end of `main`; the value it borrows is
    // kept.
    let borrowed = kernel
        .execute(
            "let names = vec![String::from(\"ab\")];\nlet lengths = names.iter().map(|s| s.len());\nlengths.clone().sum::<usize>()",
        )
        .await
        .ok();
    assert_eq!(borrowed.result().as_deref(), Some("2"));
    assert!(
        borrowed.stderr().contains("`lengths` borrows"),
        "{borrowed:?}"
    );
    assert_eq!(
        kernel.run("names.len()").await.result().as_deref(),
        Some("1")
    );

    kernel
        .run("let local = { let rc = std::rc::Rc::new(5); async move { *rc + 1 } };")
        .await;
    let local = kernel.run("local.await").await;
    assert_eq!(local.result().as_deref(), Some("6"));
}

/// Where rust-analyzer cannot type a variable, or types it wrongly, the
/// kernel asks rustc; where no type can be written, it says why.
#[tokio::test(flavor = "multi_thread")]
async fn types_the_engine_cannot_tell_come_from_rustc() {
    let mut kernel = Kernel::start().await;
    // A stored `&str` once made every such cell fail with "borrowed data
    // escapes" (evcxr's analysis code wants it `'static`).
    kernel.run("let greeting = \"hello\";").await;
    let closure = kernel.run("let times = |x: i32| x * 3;\ntimes(2)").await;
    assert_eq!(closure.result().as_deref(), Some("6"));
    // rust-analyzer gives up on this `collect()`; rustc prints the map's
    // name short (`HashMap`), which the cell has not imported.
    kernel
        .run(
            "let scores = vec![3, 1, 3];\n\
             let tally: std::collections::HashMap<_, _> =\n\
                 scores.iter().map(|s| (*s, s * 10)).collect();",
        )
        .await;
    let later = kernel
        .run("let mut keys: Vec<_> = tally.keys().copied().collect();\nkeys.sort();\nkeys")
        .await;
    assert_eq!(later.result().as_deref(), Some("[1, 3]"));

    // rust-analyzer calls `select!`'s output `!`; rustc says `i32`.
    kernel
        .run(
            "let quick = async { 1 };\n\
             let race = async {\n\
                 tokio::select! {\n\
                     a = quick => a,\n\
                     _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => 0,\n\
                 }\n\
             };",
        )
        .await;
    let raced = kernel.run("race.await + 1").await;
    assert_eq!(raced.result().as_deref(), Some("2"));

    // A value of a trait that cannot be a `dyn` (its `fn unit() -> Self`)
    // has no box: the message says what was tried and what to write.
    kernel
        .run(
            "trait Unit { fn unit() -> Self; fn show(&self) -> String; }\n\
             impl Unit for u8 { fn unit() -> Self { 1 } fn show(&self) -> String { self.to_string() } }\n\
             fn make() -> impl Unit { 2u8 }",
        )
        .await;
    let unit = kernel.execute("let unit = make();").await.failed();
    let said = unit.error_text();
    assert!(
        said.contains("The variable `unit` has type `impl Unit`, which has no name in Rust")
            && said.contains("`Box<dyn Trait>` of the trait its type names")
            && said.contains("let unit: Box<dyn YourTrait> = Box::new(..);"),
        "{said}"
    );
    let shown = kernel.run("make().show()").await;
    assert_eq!(shown.result().as_deref(), Some("\"2\""));

    // Through `select!` and `join!` the engine's analysis guesses wrong
    // (an integer literal's `i32`) or not at all; rustc's types are kept.
    kernel
        .run(
            "async fn count() -> usize { 3 }\n\
             let picked = tokio::select! {\n    n = count() => n,\n    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => 0,\n};",
        )
        .await;
    kernel
        .run(
            "let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();\n\
             let summer = tokio::spawn(async move {\n    let mut total = 0;\n    loop { tokio::select! { Some(v) = rx.recv() => { total += v; } else => break } }\n    total\n});",
        )
        .await;
    kernel
        .run("let (name, mut n) = futures::join!(async { String::from(\"a\") }, count());")
        .await;
    let kept = kernel
        .run("tx.send(4).unwrap();\ndrop(tx);\nn += 1;\n(picked, summer.await.unwrap(), name, n)")
        .await;
    assert_eq!(kept.result().as_deref(), Some("(3, 4, \"a\", 4)"));
}

/// evcxr keeps a variable between cells under its inferred type: types from
/// the standard library, tokio and closures' results all come out named.
#[tokio::test(flavor = "multi_thread")]
async fn variables_keep_their_inferred_types() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "let counts = std::collections::HashMap::<u32, String>::new();\n\
             let read = std::fs::read_to_string(\"/nonexistent\");\n\
             let doubled = [1, 2].iter().map(|x| x * 2).collect::<Vec<_>>();\n\
             let shared = std::sync::Arc::new(std::sync::Mutex::new(0u8));\n\
             let thread = std::thread::spawn(|| 3);\n\
             let task = tokio::spawn(async { 5 });\n\
             let (tx, rx) = tokio::sync::oneshot::channel::<String>();",
        )
        .await;
    let vars = kernel.run(":vars").await;
    for expected in [
        "counts: std::collections::HashMap<u32, String>",
        "read: Result<String, std::io::Error>",
        "doubled: Vec<i32>",
        "shared: std::sync::Arc<std::sync::Mutex<u8>>",
        "thread: std::thread::JoinHandle<i32>",
        "task: tokio::task::JoinHandle<i32>",
        "tx: tokio::sync::oneshot::Sender<String>",
        "rx: tokio::sync::oneshot::Receiver<String>",
    ] {
        let listed = vars.result().unwrap_or_default();
        assert!(listed.contains(expected), "{expected} in {vars:?}");
    }
    // The engine's analysis leaves the SIMD intrinsics out (see std_sources.rs):
    // the kernel asks rustc for such a value's type, and it is kept.
    kernel
        .run("let lanes = unsafe { std::arch::x86_64::_mm_set1_ps(2.0) };")
        .await;
    let lanes = kernel.run("format!(\"{lanes:?}\")").await;
    assert_eq!(
        lanes.result().as_deref(),
        Some("\"__m128(2.0, 2.0, 2.0, 2.0)\"")
    );
    let used = kernel
        .run("tx.send(\"sent\".to_string()).unwrap();\nformat!(\"{} {} {}\", rx.await.unwrap(), task.await.unwrap(), thread.join().unwrap())")
        .await;
    assert_eq!(used.result().as_deref(), Some("\"sent 5 3\""));
}
