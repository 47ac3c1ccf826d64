//! Spreading independent per-file work (encode, hash, deflate, parse) over
//! the machine's cores with scoped threads. Results come back in input
//! order, so output and the first error reported never depend on the number
//! of threads or on scheduling.

/// Below this many items, starting threads costs more than it saves.
const MIN_PARALLEL_ITEMS: usize = 16;

/// `items.iter().map(f).collect()`, in parallel chunks.
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
    if threads <= 1 || !worth_threads || items.is_empty() {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for worker in workers {
            // A panic in a worker is a bug in `f`; carry it on unchanged.
            out.extend(
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order_at_any_size() {
        for n in [0, 1, 15, 16, 17, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let out = super::map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
