//! Identical reads that arrive while one is running share the next one.
//!
//! Every request reads its tenant, and on a busy tenant many of them ask
//! for the same row at once; each asking PostgreSQL on its own is a round
//! trip and a statement for both processes. Here the reads of one key
//! form batches: a read joins the batch that has not started yet (or
//! starts one), a batch starts once the one before it for the same slot
//! has finished, and every read in a batch gets that batch's answer.
//!
//! This is not a cache: a batch's query starts after every read in it
//! arrived, so each answer was read after its request came in, exactly as
//! if it had asked alone (a write committed before a request was sent is
//! in its answer; replicas see nothing staler than they would). A failed
//! batch answers nothing: each of its reads then asks alone and gets its
//! own error.
//!
//! Written here because the ecosystem's single-flight crates (e.g.
//! `async_singleflight`) join a call that is already running, which could
//! answer a read with a row read before it arrived.

use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

/// Slots, each holding at most one key's waiting batch: memory stays fixed
/// whatever the number of keys. A read whose slot waits for another key
/// reads alone.
const SLOTS: usize = 64;

type Batch<V> = Arc<OnceCell<Option<V>>>;

/// A slot's batch that has not started yet, and its key.
type Waiting<K, V> = Mutex<Option<(K, Batch<V>)>>;

pub(crate) struct Coalescer<K, V> {
    /// The batch of each slot that has not started yet.
    waiting: Box<[Waiting<K, V>]>,
    /// Held while a slot's batch runs: the next one waits, and grows.
    running: Box<[tokio::sync::Mutex<()>]>,
    hasher: std::hash::RandomState,
}

impl<K, V> std::fmt::Debug for Coalescer<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Coalescer<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            waiting: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
            running: (0..SLOTS).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// `read()`'s answer for `key`, from a run of it that started after
    /// this call: this call's own, or its batch's. `read` answers `None`
    /// for a failure, which is not shared. `None`: there is no shared
    /// answer (the batch failed, or the slot waits for another key); the
    /// caller reads alone.
    pub(crate) async fn read<R, RF>(&self, key: &K, read: R) -> Option<V>
    where
        R: FnOnce() -> RF,
        RF: Future<Output = Option<V>>,
    {
        let slot = (self.hasher.hash_one(key) as usize) % SLOTS;
        let batch = {
            let mut waiting = self.waiting[slot]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &*waiting {
                Some((waiting_key, batch)) if waiting_key == key => Some(Arc::clone(batch)),
                Some(_) => None,
                None => {
                    let batch: Batch<V> = Arc::new(OnceCell::new());
                    *waiting = Some((key.clone(), Arc::clone(&batch)));
                    Some(batch)
                }
            }
        };
        let batch = batch?;
        batch
            .get_or_init(|| async {
                let _running = self.running[slot].lock().await;
                // From here on the batch is closed: later reads make the
                // next one.
                {
                    let mut waiting = self.waiting[slot]
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if waiting
                        .as_ref()
                        .is_some_and(|(_, waiting)| Arc::ptr_eq(waiting, &batch))
                    {
                        *waiting = None;
                    }
                }
                read().await
            })
            .await
            .clone()
    }

    /// [`Coalescer::read`] for a fallible read: an error is never shared,
    /// each read that met one asks alone and answers its own.
    pub(crate) async fn try_read<E, R, RF>(&self, key: &K, read: R) -> Result<V, E>
    where
        R: Fn() -> RF,
        RF: Future<Output = Result<V, E>>,
    {
        match self.read(key, || async { read().await.ok() }).await {
            Some(value) => Ok(value),
            None => read().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    /// The value at the time a read starts; reads take 20 ms.
    struct Source {
        value: AtomicU64,
        reads: AtomicU64,
    }

    impl Source {
        async fn read(&self) -> Option<u64> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let value = self.value.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some(value)
        }
    }

    async fn read(c: &Coalescer<u32, u64>, source: &Source, key: u32) -> u64 {
        c.read(&key, || source.read())
            .await
            .expect("a shared answer")
    }

    /// Fifty reads of one key while another runs share one read, and a
    /// value written before a read arrived is always in its answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_that_wait_share_a_later_read_and_never_an_earlier_one() {
        let c = Arc::new(Coalescer::<u32, u64>::new());
        let source = Arc::new(Source {
            value: AtomicU64::new(1),
            reads: AtomicU64::new(0),
        });
        // The first read runs alone.
        let first = {
            let (c, source) = (Arc::clone(&c), Arc::clone(&source));
            tokio::spawn(async move { read(&c, &source, 7).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Written while it runs: every read from now on must see it.
        source.value.store(2, Ordering::SeqCst);
        let later: Vec<_> = (0..50)
            .map(|_| {
                let (c, source) = (Arc::clone(&c), Arc::clone(&source));
                tokio::spawn(async move { read(&c, &source, 7).await })
            })
            .collect();
        assert_eq!(first.await.unwrap(), 1);
        for answer in later {
            assert_eq!(answer.await.unwrap(), 2);
        }
        assert_eq!(
            source.reads.load(Ordering::SeqCst),
            2,
            "one read for the fifty"
        );
    }

    /// Another key is never answered from this one's batch, and a failed
    /// batch leaves each read to ask alone.
    #[tokio::test]
    async fn keys_are_apart_and_failures_are_not_shared() {
        let c = Coalescer::<u32, u64>::new();
        let (a, b) = tokio::join!(
            c.read(&1, || async { Some(10) }),
            c.read(&2, || async { Some(20) }),
        );
        assert_eq!(a, Some(10));
        assert_ne!(b, Some(10));
        assert_eq!(c.read(&1, || async { None }).await, None);
        assert_eq!(c.read(&1, || async { Some(11) }).await, Some(11));
    }
}
