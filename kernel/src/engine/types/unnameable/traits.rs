//! The traits a boxed value may be seen through, in the order to try them.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Trait {
    Future,
    Stream,
    Iterator,
}

/// Which trait the value most likely implements, judged from the type's
/// name; the others follow, since adaptors share names (`Map`, `Filter`).
pub(super) fn trait_order(shown: &str) -> Vec<Trait> {
    let first = if shown.starts_with("impl Future") || shown.contains("Future<Output") {
        if shown.contains("Stream") || shown.contains("Then<") {
            Trait::Stream
        } else {
            Trait::Future
        }
    } else if shown.contains("Stream") {
        Trait::Stream
    } else if shown.contains("Iterator") || shown.contains("Range") {
        Trait::Iterator
    } else {
        Trait::Future
    };
    let mut order = vec![first];
    order.extend(
        [Trait::Future, Trait::Stream, Trait::Iterator]
            .into_iter()
            .filter(|t| *t != first),
    );
    order
}
