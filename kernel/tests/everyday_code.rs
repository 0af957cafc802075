//! Everyday code that compiles and runs in a plain Cargo program runs the
//! same in cells: item macros at a cell's top level (`thread_local!`,
//! `tokio::task_local!`, a `macro_rules!` of the user's that writes a
//! `struct`), a panic payload downcast in the cell that made it, and errors
//! that always start with rustc's title.

mod common;

use common::Kernel;

/// The `text/plain` result of a cell that must succeed.
async fn value(kernel: &mut Kernel, code: &str) -> Option<String> {
    kernel.run(code).await.result()
}

/// `thread_local!` at a cell's top level defines a thread-local that later
/// cells use and whose value they share, whether the call is the cell's last
/// statement or followed by others; it shows no value of its own.
#[tokio::test(flavor = "multi_thread")]
async fn thread_local_is_an_item() {
    let mut kernel = Kernel::start().await;
    let defined = kernel
        .run("thread_local! { static COUNTER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) }; }")
        .await;
    assert_eq!(defined.result(), None, "{defined:?}");
    assert_eq!(
        value(&mut kernel, "COUNTER.with(|c| c.get())")
            .await
            .as_deref(),
        Some("0")
    );
    let counted = "COUNTER.with(|c| c.set(c.get() + 2));\nCOUNTER.with(|c| c.get())";
    assert_eq!(value(&mut kernel, counted).await.as_deref(), Some("2"));
    // The value carries into later cells, which run on the same thread, as
    // the statements of a program's `main` do.
    assert_eq!(
        value(
            &mut kernel,
            "COUNTER.set(COUNTER.get() + 1);\nCOUNTER.get()"
        )
        .await
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        value(&mut kernel, "COUNTER.with(|c| c.get())")
            .await
            .as_deref(),
        Some("3")
    );
    // Running the defining cell again starts it over, as running a program
    // again would.
    kernel
        .run("thread_local! { static COUNTER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) }; }")
        .await;
    assert_eq!(
        value(&mut kernel, "COUNTER.get()").await.as_deref(),
        Some("0")
    );
    let then = "thread_local! {\n    static NAME: std::cell::RefCell<String> = std::cell::RefCell::new(\"a\".into());\n}\n\
                NAME.with(|n| n.borrow_mut().push('b'));\nNAME.with(|n| n.borrow().clone())";
    assert_eq!(value(&mut kernel, then).await.as_deref(), Some("\"ab\""));
}

/// Each delimiter, with and without a `;`, and a thread-local that tasks
/// read and change on their own threads.
#[tokio::test(flavor = "multi_thread")]
async fn item_macro_delimiters_and_tasks() {
    let mut kernel = Kernel::start().await;
    kernel.run("thread_local!(static A: u8 = 1);").await;
    kernel.run("thread_local![static B: u8 = 2]").await;
    kernel.run("thread_local! { static C: u8 = 3 };").await;
    kernel.run("thread_local!(static D: u8 = 4)").await;
    let sum = "A.with(|a| *a) + B.with(|b| *b) + C.with(|c| *c) + D.with(|d| *d)";
    assert_eq!(value(&mut kernel, sum).await.as_deref(), Some("10"));
    // A variable whose type only rustc can tell (rust-analyzer does not
    // see the item).
    let kept = "let twice = D.with(|d| u32::from(*d) * 2);\ntwice";
    assert_eq!(value(&mut kernel, kept).await.as_deref(), Some("8"));
    assert_eq!(value(&mut kernel, "twice + 1").await.as_deref(), Some("9"));
    let tasks = "thread_local! { static SEEN: std::cell::Cell<u32> = const { std::cell::Cell::new(10) }; }\n\
                 let task = tokio::spawn(async { SEEN.with(|s| { s.set(s.get() + 1); s.get() }) });\n\
                 task.await.unwrap()";
    assert_eq!(value(&mut kernel, tasks).await.as_deref(), Some("11"));
    let later = "tokio::spawn(async { SEEN.with(|s| s.get() >= 10) }).await.unwrap()";
    assert_eq!(value(&mut kernel, later).await.as_deref(), Some("true"));
}

/// `tokio::task_local!` at the top level, then scoped in a later cell.
#[tokio::test(flavor = "multi_thread")]
async fn task_local_is_an_item() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("tokio::task_local! { static REQUEST_ID: u64; }")
        .await;
    let scoped = kernel
        .run("REQUEST_ID.scope(7, async { REQUEST_ID.get() }).await")
        .await;
    assert_eq!(scoped.result().as_deref(), Some("7"));
    let outside = "REQUEST_ID.try_with(|id| *id).is_err()";
    assert_eq!(value(&mut kernel, outside).await.as_deref(), Some("true"));
}

/// A `macro_rules!` of the user's that writes a `struct` or a `fn`, called
/// at the top level of the defining cell and of later cells, with and
/// without `;`, and inside a function.
#[tokio::test(flavor = "multi_thread")]
async fn own_item_macros_define_items() {
    let mut kernel = Kernel::start().await;
    let defined = "macro_rules! make_struct {\n    ($name:ident) => {\n        #[derive(Debug, Default)]\n        \
                   struct $name { x: u32 }\n    };\n}\nmake_struct!(Point);";
    kernel.run(defined).await;
    assert_eq!(
        value(&mut kernel, "Point::default()").await.as_deref(),
        Some("Point { x: 0 }")
    );
    kernel.run("make_struct!(Other)").await;
    assert_eq!(
        value(&mut kernel, "Other { x: 3 }.x").await.as_deref(),
        Some("3")
    );
    kernel
        .run("macro_rules! make_fn { ($name:ident, $v:expr) => { fn $name() -> u32 { $v } }; }")
        .await;
    kernel.run("make_fn![seven, 7];\nmake_fn!(eight, 8);").await;
    assert_eq!(
        value(&mut kernel, "seven() + eight()").await.as_deref(),
        Some("15")
    );
    let inside = "fn uses() -> u32 { make_struct!(Inner); Inner::default().x + seven() }\nuses()";
    assert_eq!(value(&mut kernel, inside).await.as_deref(), Some("7"));
}

/// Macros whose expansion is an expression or statement stay so.
#[tokio::test(flavor = "multi_thread")]
async fn expression_macros_stay_expressions() {
    let mut kernel = Kernel::start().await;
    let printed = kernel.run("println!(\"x\")").await;
    assert_eq!(printed.stdout(), "x\n");
    assert_eq!(printed.result(), None);
    assert_eq!(value(&mut kernel, "vec![1]").await.as_deref(), Some("[1]"));
    let asserted = kernel.run("assert!(1 + 1 == 2);\nassert_eq!(2, 2)").await;
    assert_eq!(asserted.result(), None);
    let formatted = "let n = 4;\nformat!(\"n={n}\")";
    assert_eq!(
        value(&mut kernel, formatted).await.as_deref(),
        Some("\"n=4\"")
    );
    let failed = kernel
        .execute("assert!(1 + 1 == 3, \"math\");")
        .await
        .failed();
    assert!(failed.error_text().contains("math"), "{failed:?}");
    let selected = "tokio::select! {\n    v = async { 5 } => println!(\"got {v}\"),\n}";
    assert_eq!(kernel.run(selected).await.stdout(), "got 5\n");
}

/// A task's panic payload, downcast in the cell that awaited the task: the
/// payload's type names `Any`, which the cell does not import.
#[tokio::test(flavor = "multi_thread")]
async fn panic_payload_downcasts_in_the_same_cell() {
    let mut kernel = Kernel::start().await;
    let cell =
        "let h = tokio::spawn(async { panic!(\"boom\") });\nlet err = h.await.unwrap_err();\n\
                let payload = err.into_panic();\npayload.downcast_ref::<&str>().copied()";
    assert_eq!(
        value(&mut kernel, cell).await.as_deref(),
        Some("Some(\"boom\")")
    );
    assert_eq!(
        value(&mut kernel, "payload.is::<&str>()").await.as_deref(),
        Some("true")
    );
    // With an item in the cell, where rustc would put its `use`.
    let with_use = "use std::time::Duration;\nlet other = tokio::spawn(async { panic!(\"again\") }).await.unwrap_err().into_panic();\n\
                    (other.downcast_ref::<&str>().copied(), Duration::from_millis(1))";
    assert_eq!(
        value(&mut kernel, with_use).await.as_deref(),
        Some("(Some(\"again\"), 1ms)")
    );
}

/// A failed cell's message starts with rustc's title and code; helps and
/// notes follow it.
#[tokio::test(flavor = "multi_thread")]
async fn errors_start_with_their_title() {
    let mut kernel = Kernel::start().await;
    kernel.run("fn add_one(a: u32) -> u32 { a + 1 }").await;
    for (cell, title) in [
        (
            "undefined_value + 1",
            "error[E0425]: cannot find value `undefined_value` in this scope",
        ),
        ("add_one(\"x\")", "error[E0308]: mismatched types"),
        (
            "let b: Box<dyn Any> = Box::new(1);",
            "error[E0405]: cannot find trait `Any` in this scope",
        ),
    ] {
        let failed = kernel.execute(cell).await.failed();
        let traceback = failed.error_text();
        let shown = traceback.split_once('\n').map_or("", |(_, t)| t);
        assert!(shown.starts_with(title), "{cell}: {traceback}");
    }
}

/// A future pinned with `std::pin::pin!` at a cell's top level is polled as
/// `&mut fut` in a `select!` loop of a later cell, turn after turn, until it
/// is ready.
#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_future_is_resumed_in_a_later_select_loop() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "let mut slow = std::pin::pin!(async {\n    \
             tokio::time::sleep(std::time::Duration::from_millis(30)).await;\n    5\n});",
        )
        .await;
    let looped = "let mut turns = 0;\nlet got = loop {\n    tokio::select! {\n        \
                  v = &mut slow => break v,\n        \
                  _ = tokio::time::sleep(std::time::Duration::from_millis(2)) => turns += 1,\n    \
                  }\n};\n(got, turns > 0)";
    assert_eq!(
        value(&mut kernel, looped).await.as_deref(),
        Some("(5, true)")
    );
}

/// A top-level `static mut` is one place for the whole session, as in a
/// program: a write in one cell is read in the next, by a function of an
/// earlier cell and by a spawned task; raw pointers to it stay safe to take;
/// running the defining cell again starts it over.
#[tokio::test(flavor = "multi_thread")]
async fn static_mut_is_one_place() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("static mut COUNT: u64 = 0;\nfn count() -> u64 { unsafe { COUNT } }")
        .await
        .ok();
    let bumped = kernel.run("unsafe { COUNT += 2; }").await.ok();
    assert_eq!(bumped.shown(), "", "no warning of the kernel's making");
    assert_eq!(value(&mut kernel, "count()").await.as_deref(), Some("2"));
    let from_task =
        "tokio::spawn(async { unsafe { COUNT += 1 } }).await.unwrap();\nunsafe { COUNT }";
    assert_eq!(value(&mut kernel, from_task).await.as_deref(), Some("3"));
    let pointer =
        "let p = &raw mut COUNT;\nunsafe { *p *= 10 };\nunsafe { *std::ptr::addr_of!(COUNT) }";
    assert_eq!(value(&mut kernel, pointer).await.as_deref(), Some("30"));
    kernel
        .run("static mut COUNT: u64 = 7;\nfn count() -> u64 { unsafe { COUNT } }")
        .await
        .ok();
    assert_eq!(value(&mut kernel, "count()").await.as_deref(), Some("7"));
}

/// A static inside a function is one instance for all the function's calls,
/// from any later cell, and for every type a generic function is called
/// with, as in a program; a `static mut` inside a function too.
#[tokio::test(flavor = "multi_thread")]
async fn a_functions_statics_are_one_instance() {
    let mut kernel = Kernel::start().await;
    let next_id = "use std::sync::atomic::{AtomicU32, Ordering};\n\
                   fn next_id() -> u32 {\n    static N: AtomicU32 = AtomicU32::new(0);\n    N.fetch_add(1, Ordering::SeqCst) + 1\n}\n\
                   next_id()";
    assert_eq!(value(&mut kernel, next_id).await.as_deref(), Some("1"));
    assert_eq!(value(&mut kernel, "next_id()").await.as_deref(), Some("2"));
    let label = "fn label<T>() -> &'static str {\n    static L: std::sync::OnceLock<String> = std::sync::OnceLock::new();\n    L.get_or_init(|| std::any::type_name::<T>().to_owned())\n}\nlabel::<u8>()";
    assert_eq!(value(&mut kernel, label).await.as_deref(), Some("\"u8\""));
    assert_eq!(
        value(&mut kernel, "label::<u16>()").await.as_deref(),
        Some("\"u8\""),
        "one static for every instance of a generic function"
    );
    let calls =
        "fn calls() -> u32 { static mut CALLS: u32 = 0; unsafe { CALLS += 1; CALLS } }\ncalls()";
    assert_eq!(value(&mut kernel, calls).await.as_deref(), Some("1"));
    assert_eq!(value(&mut kernel, "calls()").await.as_deref(), Some("2"));
}

/// A top-level `let` that borrows (`let first = &v[0];`, `let it = v.iter();`)
/// runs as in a program: the borrow lasts to the end of its cell, which says
/// so, and the cell's other variables are kept for later cells.
#[tokio::test(flavor = "multi_thread")]
async fn a_borrowing_let_lives_to_the_end_of_its_cell() {
    let mut kernel = Kernel::start().await;
    kernel.run("let v = vec![1, 2, 3];").await.ok();
    let alone = kernel
        .run("let r = &v;\nprintln!(\"{}\", r.len());")
        .await
        .ok();
    assert_eq!(alone.stdout(), "3\n");
    assert!(alone.stderr().contains("`r` borrows"), "{alone:?}");
    let mixed = "let total: i32 = v.iter().sum();\nlet first = &v[0];\nlet n = *first + total;\nprintln!(\"{first} {total}\");\ntotal";
    let mixed = kernel.run(mixed).await.ok();
    assert_eq!(
        (mixed.stdout().as_str(), mixed.result()),
        ("1 6\n", Some("6".to_owned()))
    );
    assert_eq!(value(&mut kernel, "total + n").await.as_deref(), Some("13"));
    let iterating = "let mut it = v.iter();\nlet a = it.next();\na.copied()";
    assert_eq!(
        value(&mut kernel, iterating).await.as_deref(),
        Some("Some(1)")
    );
    let later = kernel.execute("*first").await.failed();
    assert!(later.error_text().contains("E0425"), "{later:?}");
    assert_eq!(value(&mut kernel, "v.len()").await.as_deref(), Some("3"));
}
