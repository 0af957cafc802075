//! One tokio runtime shared by all cells of a session: tasks, handles,
//! channels and values live from cell to cell, background output arrives
//! while the kernel is idle, and interrupts keep what they can.

mod common;

use std::time::{Duration, Instant};

use common::{Kernel, ANSWER};
use serde_json::json;

/// Live task count from `:runtime`'s report.
fn live_tasks(report: &str) -> u64 {
    let words: Vec<&str> = report.split_whitespace().collect();
    let at = words
        .windows(2)
        .position(|w| w[1] == "live")
        .unwrap_or_else(|| panic!("no live task count in {report:?}"));
    words[at].parse().expect("a task count")
}

/// Pausing tokio's clock, which the shared multi-thread runtime cannot do,
/// fails with a pointer to virtual time, where `advance` works.
#[tokio::test(flavor = "multi_thread")]
async fn pausing_time_points_at_virtual_time() {
    let mut kernel = Kernel::start().await;
    let paused = kernel.execute("tokio::time::pause();").await.failed();
    let text = paused.error_text();
    assert!(text.contains("asyncbook::virtual_time::run("), "{text}");
    let advanced = kernel
        .run("asyncbook::virtual_time::run(async {\n    let start = tokio::time::Instant::now();\n    tokio::time::advance(std::time::Duration::from_secs(60)).await;\n    start.elapsed().as_secs()\n})")
        .await;
    assert_eq!(advanced.result().as_deref(), Some("60"));
}

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
    // A value that borrows cannot be kept, and the message says so.
    let borrowed = kernel
        .execute(
            "let names = vec![String::from(\"ab\")];\nlet lengths = names.iter().map(|s| s.len());",
        )
        .await
        .failed();
    assert!(
        borrowed
            .error_text()
            .contains("borrows from another value (the `'_`)"),
        "{borrowed:?}"
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

/// A program pasted into a cell: its `#[tokio::main]` runs on the shared
/// runtime when called, sees the notebook's tasks, and a runtime built and
/// blocked on in a cell panics with a hint.
#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_program_runs_on_the_shared_runtime() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("let (tx, rx) = tokio::sync::oneshot::channel::<u32>();\ntokio::spawn(async move { tx.send(7).unwrap() });")
        .await;
    kernel
        .run(
            "use std::time::Duration;\n\
             #[tokio::main]\n\
             async fn main() -> Result<u32, Box<dyn std::error::Error>> {\n\
                 let worker = tokio::spawn(async { tokio::time::sleep(Duration::from_millis(10)).await; 35 });\n\
                 println!(\"waiting for the worker\");\n\
                 Ok(worker.await?)\n\
             }",
        )
        .await;
    let ran = kernel
        .run("let from_main = main().unwrap();\nfrom_main + rx.await.unwrap()")
        .await;
    assert_eq!(ran.stdout(), "waiting for the worker\n");
    assert_eq!(ran.result().as_deref(), Some("42"));

    let own = kernel
        .execute("let rt = tokio::runtime::Runtime::new().unwrap();\nrt.block_on(async { 1 })")
        .await
        .failed();
    let said = own.error_text();
    assert!(
        said.contains("Cannot start a runtime from within a runtime")
            && said.contains("Hint: cells already run on the shared tokio runtime"),
        "{said}"
    );
}

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
    assert!(
        said.contains("= note: required by a bound in `tokio::spawn` (tokio-"),
        "{said}"
    );
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

/// Tasks, handles, channels, structs and locks across cells; background
/// output while idle; background panics; `:runtime`.
#[tokio::test(flavor = "multi_thread")]
async fn tasks_and_values_live_across_cells() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "use std::time::Duration;\n\
             use std::sync::Arc;\n\
             use std::sync::atomic::{AtomicU64, Ordering};",
        )
        .await;

    // A JoinHandle awaited two cells later.
    kernel
        .run(
            "let answer = tokio::spawn(async {\n\
                 tokio::time::sleep(Duration::from_millis(200)).await;\n\
                 6 * 7\n\
             });",
        )
        .await;
    kernel.run("let unrelated = 1;").await;
    let joined = kernel.run("answer.await.unwrap() + unrelated - 1").await;
    assert_eq!(joined.result().as_deref(), Some("42"));

    // The handle of a task that never returns (rust-analyzer calls its
    // output `!`), kept, asked and aborted two cells later.
    kernel
        .run(
            "let ticks = Arc::new(AtomicU64::new(0));\n\
             let ticker = tokio::spawn({\n\
                 let ticks = ticks.clone();\n\
                 async move {\n\
                     loop {\n\
                         tokio::time::sleep(Duration::from_millis(5)).await;\n\
                         ticks.fetch_add(1, Ordering::Relaxed);\n\
                     }\n\
                 }\n\
             });",
        )
        .await;
    // The same for a task running an `async fn` that returns `!`: its
    // handle's type holds a `!` that rustc keeps.
    kernel
        .run(
            "async fn serve(ticks: Arc<AtomicU64>) -> ! {\n\
                 loop {\n\
                     tokio::time::sleep(Duration::from_millis(5)).await;\n\
                     ticks.fetch_add(1, Ordering::Relaxed);\n\
                 }\n\
             }\n\
             let served = Arc::new(AtomicU64::new(0));\n\
             let server = tokio::spawn(serve(served.clone()));",
        )
        .await;
    let running = kernel
        .run("tokio::time::sleep(Duration::from_millis(100)).await;\n(ticker.is_finished(), ticks.load(Ordering::Relaxed) > 0, server.is_finished(), served.load(Ordering::Relaxed) > 0)")
        .await;
    assert_eq!(
        running.result().as_deref(),
        Some("(false, true, false, true)")
    );
    let aborted = kernel
        .run("ticker.abort();\nlet ended = ticker.await;\nended.unwrap_err().is_cancelled()")
        .await;
    assert_eq!(aborted.result().as_deref(), Some("true"));
    kernel.run("server.abort();").await;
    let stopped = kernel.run("server.await.unwrap_err().is_cancelled()").await;
    assert_eq!(stopped.result().as_deref(), Some("true"));

    // A channel filled by a task spawned in an earlier cell.
    kernel
        .run(
            "let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(2);\n\
             tokio::spawn(async move {\n\
                 for i in 0..5 { tx.send(i).await.unwrap(); }\n\
             });",
        )
        .await;
    let received = kernel
        .run(
            "let mut got = Vec::new();\n\
             while let Some(v) = rx.recv().await { got.push(v); }\n\
             got",
        )
        .await;
    assert_eq!(received.result().as_deref(), Some("[0, 1, 2, 3, 4]"));

    // A value of a struct from one cell moved into a task from another.
    kernel
        .run(
            "#[derive(Debug)]\n\
             struct Order { id: u32, items: Vec<String> }\n\
             let order = Order { id: 7, items: vec![\"tea\".to_string()] };",
        )
        .await;
    kernel
        .run(
            "let summary = tokio::spawn(async move {\n\
                 format!(\"order {} has {:?}\", order.id, order.items)\n\
             });",
        )
        .await;
    let summary = kernel
        .run("println!(\"{}\", summary.await.unwrap());")
        .await;
    assert_eq!(summary.stdout(), "order 7 has [\"tea\"]\n");

    // A ticker keeps advancing while a later cell only does synchronous work.
    // (The handle's type is spelled out: evcxr would infer `JoinHandle<!>`.)
    kernel
        .run(
            "let ticks = Arc::new(AtomicU64::new(0));\n\
             let ticker: tokio::task::JoinHandle<()> = {\n\
                 let ticks = ticks.clone();\n\
                 tokio::spawn(async move {\n\
                     loop {\n\
                         tokio::time::sleep(Duration::from_millis(10)).await;\n\
                         ticks.fetch_add(1, Ordering::SeqCst);\n\
                     }\n\
                 })\n\
             };",
        )
        .await;
    let advanced = kernel
        .run(
            "let start = ticks.load(Ordering::SeqCst);\n\
             let began = std::time::Instant::now();\n\
             while ticks.load(Ordering::SeqCst) < start + 5\n\
                 && began.elapsed() < Duration::from_secs(60) {\n\
                 std::thread::sleep(Duration::from_millis(5));\n\
             }\n\
             ticks.load(Ordering::SeqCst) >= start + 5",
        )
        .await;
    assert_eq!(advanced.result().as_deref(), Some("true"), "{advanced:?}");

    // abort and is_cancelled.
    kernel.run("ticker.abort();").await;
    let cancelled = kernel.run("ticker.await.unwrap_err().is_cancelled()").await;
    assert_eq!(cancelled.result().as_deref(), Some("true"));

    // 100 tasks mutating one Arc<tokio::sync::Mutex<_>>, joined a cell later.
    kernel
        .run(
            "let counter = Arc::new(tokio::sync::Mutex::new(0u64));\n\
             let mut workers = tokio::task::JoinSet::new();\n\
             for _ in 0..100 {\n\
                 let counter = counter.clone();\n\
                 workers.spawn(async move {\n\
                     let mut value = counter.lock().await;\n\
                     tokio::task::yield_now().await;\n\
                     *value += 1;\n\
                 });\n\
             }",
        )
        .await;
    let counted = kernel
        .run(
            "while let Some(done) = workers.join_next().await { done.unwrap(); }\n\
             *counter.lock().await",
        )
        .await;
    assert_eq!(counted.result().as_deref(), Some("100"));

    // Output of a background task arrives while the kernel is idle, under
    // the cell that spawned it.
    let spawner = kernel
        .run(
            "tokio::spawn(async {\n\
                 for i in 0..5 {\n\
                     tokio::time::sleep(Duration::from_secs(1)).await;\n\
                     println!(\"late {i}\");\n\
                 }\n\
             });",
        )
        .await;
    let mut late = Vec::new();
    while late.len() + spawner.stdout().lines().count() < 5 {
        let message = kernel
            .wait_iopub(ANSWER, |m| m.msg_type() == "stream")
            .await
            .expect("background output while idle");
        assert_eq!(message.parent_id(), Some(spawner.request_id.as_str()));
        assert_eq!(message.content["name"], "stdout");
        late.push(message.content["text"].as_str().unwrap().to_owned());
    }
    assert!(!late.is_empty(), "all background output came before idle");
    let all: String = spawner.stdout() + &late.concat();
    assert_eq!(all, "late 0\nlate 1\nlate 2\nlate 3\nlate 4\n");

    // A panicking background task is reported; other tasks keep running,
    // and a cell running at the time is not blamed for it.
    let id = kernel
        .submit(
            "tokio::spawn(async {\n\
                 tokio::time::sleep(Duration::from_millis(300)).await;\n\
                 panic!(\"task exploded\");\n\
             });\n\
             tokio::time::sleep(Duration::from_secs(2)).await;\n\
             1 + 1",
            false,
        )
        .await;
    let during = kernel.finish("(panicking task)", &id, ANSWER).await;
    assert!(
        during.stderr().contains("task exploded"),
        "the panic is not shown: {during:?}"
    );
    assert_eq!(during.status(), "ok", "{during:?}");
    assert_eq!(during.result().as_deref(), Some("2"));
    kernel
        .run(
            "let doomed: tokio::task::JoinHandle<()> =\n\
             tokio::spawn(async { panic!(\"second explosion\") });",
        )
        .await;
    let joined = kernel.run("doomed.await.unwrap_err().is_panic()").await;
    assert_eq!(joined.result().as_deref(), Some("true"));
    let alive = kernel
        .run("tokio::spawn(async move { unrelated + 4 }).await.unwrap()")
        .await;
    assert_eq!(alive.result().as_deref(), Some("5"));

    // :runtime tells flavour, workers and live tasks.
    let before = kernel.run(":runtime").await.stdout();
    assert!(before.contains("multi-thread"), "{before}");
    assert!(before.contains("worker"), "{before}");
    kernel
        .run(
            "let sleepers: Vec<_> = (0..3)\n\
                 .map(|_| tokio::spawn(std::future::pending::<()>()))\n\
                 .collect();",
        )
        .await;
    let during = kernel.run(":runtime").await.stdout();
    assert_eq!(live_tasks(&during), live_tasks(&before) + 3, "{during}");
    kernel
        .run("for s in sleepers { s.abort(); let _ = s.await; }")
        .await;
    let after = kernel.run(":runtime").await.stdout();
    assert_eq!(live_tasks(&after), live_tasks(&before), "{after}");
}

/// Interrupting an awaiting cell keeps variables and background tasks; a
/// cell stuck in synchronous code is stopped and the loss is reported.
#[tokio::test(flavor = "multi_thread")]
async fn interrupts_keep_what_they_can() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "fn helper() -> u32 { 5 }\n\
             let keep = 41u32;\n\
             let (done_tx, done_rx) = tokio::sync::oneshot::channel::<u32>();\n\
             let waiter = tokio::spawn(async move { done_rx.await.unwrap() + 1 });",
        )
        .await;

    let code = "println!(\"waiting\");\n\
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;";
    let id = kernel.start_cell(code, "waiting").await;
    let asked = Instant::now();
    let reply = kernel.control("interrupt_request", json!({})).await;
    assert_eq!(reply.content["status"], "ok");
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    let took = asked.elapsed();
    // The issue asks for 1 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(10), "interrupt took {took:?}");
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    let kept = kernel
        .run("done_tx.send(keep).unwrap();\nwaiter.await.unwrap()")
        .await;
    assert_eq!(kept.result().as_deref(), Some("42"));

    // Synchronous code never reaches an await: the cell process is replaced.
    let code = "println!(\"spinning\");\n\
                let mut n = 0u64;\n\
                loop { n = std::hint::black_box(n.wrapping_add(1)); }";
    let id = kernel.start_cell(code, "spinning").await;
    let asked = Instant::now();
    kernel.control("interrupt_request", json!({})).await;
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    let took = asked.elapsed();
    // The issue asks for 2 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(15), "interrupt took {took:?}");
    let said = stopped.error_text();
    assert!(said.contains("Interrupted"), "{stopped:?}");
    assert!(said.contains("variables"), "{stopped:?}");
    assert!(said.contains("lost"), "{stopped:?}");

    // The kernel goes on: items are kept, variables are gone.
    let after = kernel.run("helper() + 1").await;
    assert_eq!(after.result().as_deref(), Some("6"));
    kernel.execute("keep").await.failed();
    let fresh = kernel
        .run("tokio::spawn(async { helper() * 2 }).await.unwrap()")
        .await;
    assert_eq!(fresh.result().as_deref(), Some("10"));
}

/// `:clear` starts the session over in the same kernel process: nothing the
/// cells before it defined, declared, set or spawned is visible after it,
/// the cells run in a new process on a new runtime, and the execution
/// counts start from 1 again.
#[tokio::test(flavor = "multi_thread")]
async fn clear_starts_the_session_over_in_place() {
    let crate_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(crate_dir.path().join("src")).unwrap();
    std::fs::write(
        crate_dir.path().join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        crate_dir.path().join("src/lib.rs"),
        "pub fn answer() -> u32 { 42 }\n",
    )
    .unwrap();
    let pid_cell = "println!(\"{} {}\", std::process::id(), std::os::unix::process::parent_id());";

    let mut kernel = Kernel::start().await;
    kernel
        .run(&format!(
            ":dep tiny = {{ path = {:?} }}\n\
             let x = tiny::answer();\n\
             fn item() -> u32 {{ 7 }}\n\
             let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);\n\
             let later = async {{ 5 }};\n\
             let sleeper = tokio::spawn(async {{ tokio::time::sleep(std::time::Duration::from_secs(3600)).await; }});",
            crate_dir.path().display().to_string()
        ))
        .await;
    kernel
        .run(":build_env ASYNCBOOK_MARK=set\n:warnings off")
        .await;
    let before = kernel.run(pid_cell).await.stdout();
    let marked = kernel.run("option_env!(\"ASYNCBOOK_MARK\")").await;
    assert_eq!(marked.result().as_deref(), Some("Some(\"set\")"));
    assert_eq!(live_tasks(&kernel.run(":runtime").await.stdout()), 1);

    let cleared = kernel.run(":clear").await;
    assert_eq!(cleared.shown(), "", "{cleared:?}");

    let after = kernel.run(pid_cell).await;
    assert_eq!(after.count(), 1, "execution counts start over");
    let (before, after) = (before.trim(), after.stdout());
    let (cells_before, kernel_before) = before.split_once(' ').unwrap();
    let (cells_after, kernel_after) = after.trim().split_once(' ').unwrap();
    assert_ne!(cells_before, cells_after, "the cells run in a new process");
    assert_eq!(kernel_before, kernel_after, "in the same kernel");
    assert_eq!(kernel_after, kernel.pid().to_string());

    for (code, missing) in [
        ("x", "cannot find value `x`"),
        ("item()", "cannot find function `item`"),
        ("tx", "cannot find value `tx`"),
        ("later", "cannot find value `later`"),
        ("sleeper.abort();", "cannot find value `sleeper`"),
        ("tiny::answer()", "`tiny`"),
    ] {
        let gone = kernel.execute(code).await.failed();
        assert!(gone.shown().contains(missing), "{code}: {gone:?}");
    }
    assert_eq!(live_tasks(&kernel.run(":runtime").await.stdout()), 0);
    let unmarked = kernel.run("option_env!(\"ASYNCBOOK_MARK\")").await;
    assert_eq!(
        unmarked.result().as_deref(),
        Some("None"),
        "settings are reset"
    );
    let warned = kernel.run("fn unused() { let a = 1; }").await;
    assert!(
        warned.stderr().contains("unused variable: `a`"),
        "{warned:?}"
    );

    // The shared runtime and the cell library work as in a new kernel.
    let spawned = kernel
        .run("let t = tokio::spawn(async { 6 * 7 });\nt.await.unwrap()")
        .await;
    assert_eq!(spawned.result().as_deref(), Some("42"));
    let kept = kernel
        .run("let (tx, rx) = tokio::sync::oneshot::channel::<u32>();")
        .await;
    assert_eq!(kept.shown(), "");
    kernel.run("tx.send(3).unwrap();").await;
    assert_eq!(
        kernel.run("rx.await.unwrap()").await.result().as_deref(),
        Some("3")
    );

    let mixed = kernel.execute("let y = 1;\n:clear").await.failed();
    assert!(mixed.shown().contains("a cell of its own"), "{mixed:?}");
    assert_eq!(kernel.run("1 + 1").await.result().as_deref(), Some("2"));
}
