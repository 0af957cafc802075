//! Iterators and streams whose items are futures, boxed item by item.

use super::traits::{trait_order, Trait};

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
