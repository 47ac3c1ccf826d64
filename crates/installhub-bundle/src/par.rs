//! Spreading independent per-file work (encode, hash, deflate, parse) over
//! the machine's cores with scoped threads. Results come back in input
//! order, so output and the first error reported never depend on the number
//! of threads or on scheduling.
//!
//! Written here rather than with rayon: this is the crate's one parallel
//! loop, and a scoped loop over a shared counter is all it needs.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this many items, starting threads costs more than it saves.
const MIN_PARALLEL_ITEMS: usize = 16;

/// `items.iter().map(f).collect()`, spread over the cores.
pub(crate) fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    map_when(items.len() >= MIN_PARALLEL_ITEMS, items, f)
}

/// [`map`] for callers that know better than the count of items whether
/// the work is worth threads (a few large files are).
pub(crate) fn map_when<T, R, F>(worth_threads: bool, items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads <= 1 || !worth_threads || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    // Items are taken one at a time from a shared counter rather than in
    // fixed halves: files differ in size and a core may be busy elsewhere
    // (the server's own threads), so fixed shares left one thread waiting
    // for the other. The calling thread takes items too.
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                break done;
            };
            done.push((i, f(item)));
        }
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(items.len()))
            .map(|_| scope.spawn(take))
            .collect();
        let mut place = |done: Vec<(usize, R)>| {
            for (i, result) in done {
                slots[i] = Some(result);
            }
        };
        place(take());
        for helper in helpers {
            // A panic in a helper is a bug in `f`; carry it on unchanged.
            place(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.expect("every item was taken once"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "item 20")]
    fn a_panic_in_a_thread_is_carried_on() {
        let items: Vec<usize> = (0..64).collect();
        super::map(&items, |&i| {
            assert_ne!(i, 20, "item 20");
            i
        });
    }

    #[test]
    fn keeps_input_order_at_any_size() {
        for n in [0, 1, 15, 16, 17, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let out = super::map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
