use super::*;

fn frame(symbol: &str, file: Option<&str>, line: Option<u32>) -> RawFrame {
    RawFrame {
        symbol: Some(symbol.to_owned()),
        file: file.map(str::to_owned),
        line,
    }
}

fn library(symbol: &str) -> RawFrame {
    frame(
        symbol,
        Some("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/x.rs"),
        Some(12),
    )
}

#[test]
fn library_frames_read_as_crate_path_and_type() {
    assert_eq!(
        library_path("<tokio::sync::oneshot::Receiver<T> as core::future::future::Future>::poll::h0123456789abcdef"),
        "tokio::sync::oneshot::Receiver"
    );
    assert_eq!(
        library_path("tokio::sync::watch::Receiver<T>::changed::{{closure}}::h0123456789abcdef"),
        "tokio::sync::watch::Receiver::changed"
    );
    assert_eq!(
        library_path("<tokio::time::timeout::Timeout<T> as core::future::future::Future>::poll"),
        "tokio::time::timeout::Timeout"
    );
    assert_eq!(
        library_path(
            "<futures_util::future::select::Select<A,B> as core::future::future::Future>::poll"
        ),
        "futures_util::future::select::Select"
    );
    assert_eq!(
        library_path("tokio::sync::mpsc::bounded::Sender<T>::send::{closure#0}"),
        "tokio::sync::mpsc::bounded::Sender::send"
    );
    // A hash-like tail that is no hash stays.
    assert_eq!(library_path("crate::hello"), "crate::hello");
}

#[test]
fn a_chain_keeps_the_notebook_and_the_leaf_and_drops_the_machinery() {
    // Innermost first, as tokio gives them; no cell sources are set, so a
    // cell frame has no line it can be placed at, and is told without one.
    let frames = [
        library("tokio::runtime::task::trace::trace_leaf::h0123456789abcdef"),
        library("tokio::sync::oneshot::Inner<T>::poll_recv"),
        library("<tokio::sync::oneshot::Receiver<T> as core::future::future::Future>::poll::h0123456789abcdef"),
        frame("ctx::fetch::{{closure}}::h0123456789abcdef", None, None),
        frame("<core::pin::Pin<P> as core::future::future::Future>::poll", None, None),
        frame("ctx::run_user_code_5::{{closure}}::{{closure}}", None, None),
        library("<tracing::instrument::Instrumented<T> as core::future::future::Future>::poll"),
        library("asyncbook::tasks::hooks::Tracked<F>::poll"),
        library("tokio::runtime::task::core::Core<T,S>::poll"),
        frame("std::panicking::try", Some("/rustc/abc/library/std/src/panicking.rs"), Some(4)),
    ];
    let steps = steps(&frames, None);
    let shown: Vec<String> = steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "in async block (a cell; no line known)",
            "in async fn fetch (a cell; no line known)",
            "tokio::sync::oneshot::Receiver",
        ]
    );
    for step in &shown {
        for path in ["/root", "/home", ".cargo", "rustlib", "/rustc", "/tmp"] {
            assert!(!step.contains(path), "{step}");
        }
    }
}

#[test]
fn notebook_code_is_told_as_what_it_runs() {
    assert_eq!(
        described("ctx::fetch::{{closure}}").as_deref(),
        Some("async fn fetch")
    );
    assert_eq!(
        described("ctx::fetch::{{closure}}::{{closure}}").as_deref(),
        Some("async block in fetch")
    );
    assert_eq!(described("ctx::helper").as_deref(), Some("fn helper"));
    assert_eq!(
        described("<ctx::Ticker as core::future::future::Future>::poll").as_deref(),
        Some("Ticker::poll")
    );
    assert_eq!(
        described("ctx::run_user_code_7::{{closure}}::{{closure}}").as_deref(),
        Some("async block")
    );
    // The cell's body itself is no task: never a step.
    assert_eq!(described("ctx::run_user_code_7"), None);
}

#[test]
fn backtraces_of_one_task_merge_into_a_tree() {
    let cell = |what: &str| Step::Notebook {
        site: Some(Site::Cell { cell: 4, line: 2 }),
        what: what.to_owned(),
    };
    let leaf = |path: &str| Step::Library(path.to_owned());
    let roots = tree(vec![
        vec![cell("async block"), leaf("tokio::sync::oneshot::Receiver")],
        vec![cell("async block"), leaf("tokio::time::sleep::Sleep")],
    ]);
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].step.to_string(), "[4] line 2, in async block");
    let leaves: Vec<String> = roots[0]
        .children
        .iter()
        .map(|n| n.step.to_string())
        .collect();
    assert_eq!(
        leaves,
        [
            "tokio::sync::oneshot::Receiver",
            "tokio::time::sleep::Sleep"
        ]
    );
}

#[test]
fn a_library_future_hides_its_own_insides_but_not_what_it_awaits() {
    let chain = |symbols: &[&str]| -> Vec<String> {
        let frames: Vec<RawFrame> = symbols.iter().rev().map(|s| library(s)).collect();
        steps(&frames, None)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        chain(&[
            "tokio::sync::mpsc::bounded::Receiver<T>::recv::{{closure}}::h1890cbd2d0dbadc8",
            "tokio::sync::mpsc::chan::Rx<T,S>::recv::h64efe480c1f072ab",
        ]),
        ["tokio::sync::mpsc::bounded::Receiver::recv"]
    );
    assert_eq!(
        chain(&[
            "<tokio::sync::notify::Notified as core::future::future::Future>::poll::h332e4d2a824c1efd",
            "tokio::sync::notify::NotifiedProject::poll_notified::hd1f9f2a568ab05c6",
        ]),
        ["tokio::sync::notify::Notified"]
    );
    assert_eq!(
        chain(&[
            "tokio::sync::mpsc::bounded::Sender<T>::send::{{closure}}",
            "<tokio::sync::batch_semaphore::Acquire as core::future::future::Future>::poll",
        ]),
        ["tokio::sync::mpsc::bounded::Sender::send"]
    );
    assert_eq!(
        chain(&[
            "<tokio::time::timeout::Timeout<T> as core::future::future::Future>::poll",
            "<tokio::sync::oneshot::Receiver<T> as core::future::future::Future>::poll",
        ]),
        [
            "tokio::time::timeout::Timeout",
            "tokio::sync::oneshot::Receiver"
        ]
    );
    assert_eq!(
        chain(&[
            "<futures_util::future::select::Select<A,B> as core::future::future::Future>::poll",
            "<tokio::time::sleep::Sleep as core::future::future::Future>::poll",
        ]),
        [
            "futures_util::future::select::Select",
            "tokio::time::sleep::Sleep"
        ]
    );
    // tokio's cooperative budget wraps some futures: machinery, left out.
    assert_eq!(
        chain(&[
            "tokio::sync::broadcast::Receiver<T>::recv::{{closure}}",
            "<tokio::task::coop::Coop<F> as core::future::future::Future>::poll",
            "<tokio::sync::broadcast::Recv<T> as core::future::future::Future>::poll",
        ]),
        ["tokio::sync::broadcast::Receiver::recv"]
    );
    // A `JoinHandle` is a leaf, though tokio's runtime defines it.
    assert_eq!(
        chain(&[
            "<tokio::runtime::task::join::JoinHandle<T> as core::future::future::Future>::poll",
            "tokio::runtime::task::trace::trace_leaf",
        ]),
        ["tokio::task::JoinHandle"]
    );
}
