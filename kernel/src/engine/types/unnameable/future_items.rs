//! Iterators and streams whose items are futures, boxed item by item.

use super::{trait_order, Trait};

/// An iterator or stream whose items are futures (`(0..10).map(|i| async
/// move { .. })`): each item boxed too, so that the items have a type to
/// name and `join_all` or `buffer_unordered` can take them in a later cell.
pub(super) fn future_items(shown: &str, init: &str) -> Vec<(String, String)> {
    if !(shown.contains("-> impl Future") || shown.contains("Item = impl Future")) {
        return Vec::new();
    }
    let future = "std::pin::Pin<Box<dyn Future<Output = _> + Send>>";
    let boxed = format!("|f| -> {future} {{ Box::pin(f) }}");
    let iterator = (
        format!("Box<dyn Iterator<Item = {future}> + Send>"),
        format!("Box::new(Iterator::map({init}, {boxed}))"),
    );
    let stream = (
        format!("std::pin::Pin<Box<dyn futures::Stream<Item = {future}> + Send>>"),
        format!("Box::pin(futures::StreamExt::map({init}, {boxed}))"),
    );
    if trait_order(shown)[0] == Trait::Stream {
        vec![stream, iterator]
    } else {
        vec![iterator, stream]
    }
}

#[cfg(test)]
mod tests {
    use super::super::{rewrites, unpersistable};

    #[test]
    fn an_iterator_of_futures_boxes_each_future_too() {
        let code = "let requests = (0..3).map(|i| async move { i * 2 });";
        let what = unpersistable(
            "The variable `requests` has type `std::iter::Map<std::ops::Range<i32>, impl FnMut(i32) -> impl Future<Output = i32>>` which cannot be persisted.",
        )
        .unwrap();
        let tries = rewrites(code, &what);
        assert_eq!(
            tries[0],
            "let requests: Box<dyn Iterator<Item = std::pin::Pin<Box<dyn Future<Output = _> + Send>>> + Send> \
             = Box::new(Iterator::map( (0..3).map(|i| async move { i * 2 }), \
             |f| -> std::pin::Pin<Box<dyn Future<Output = _> + Send>> { Box::pin(f) }));"
        );
        assert!(tries[1].contains("futures::StreamExt::map("));
    }
}
