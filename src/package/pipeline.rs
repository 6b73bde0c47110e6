//! Verifying a tenant's entry lines on every core, in order.
//!
//! The calling thread reads and inflates lines and hands batches of
//! [`BATCH`] lines to worker threads, which parse them strictly, recompute
//! hashes, decode bodies and verify signatures in one Ed25519 batch (with
//! the strict pre-checks of `crate::chain`'s batch module). The calling
//! thread then feeds the results, in stored order, to the sequential
//! [`SegmentStream`]. At most three batches per thread exist at once, so
//! memory stays bounded whatever the package size.
//!
//! There is one worker fewer than cores: the calling thread is the last
//! one. When it has read as far ahead as it may, it prepares a waiting
//! batch itself instead of blocking (caller runs). With a worker per core
//! besides, the scheduler would share the cores among one thread more than
//! there are, and the calling thread, whose reading is sequential, would
//! get only part of a core.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chain::{precheck_many, Precheck};
use crate::entry::{Entry, EntryError, LineHash};
use crate::keys::KeyRing;
use crate::report::Location;
use crate::segment::{Irregular, SegmentStream};

/// Lines per batch handed to a worker.
pub(crate) const BATCH: usize = 2048;
/// Lines between two progress reports (and at the end of each batch).
const PROGRESS_EVERY: u64 = 256;
/// Batches read ahead of the one being consumed, per thread.
const IN_FLIGHT_PER_THREAD: usize = 2;
/// Most worker threads used.
const MAX_WORKERS: usize = 16;

/// Batches in flight with `workers` threads.
fn in_flight(workers: usize) -> usize {
    (workers + 1) * IN_FLIGHT_PER_THREAD
}

/// An entry read from a line, with its content hash when taken from the line.
type ParsedLine = Result<(Entry, Option<LineHash>), EntryError>;

type Prepared = (Location, Result<Entry, EntryError>, Option<Precheck>);

/// Appends the next line to the buffer and says where it is (and where it
/// came from); `None` at the end.
pub(crate) type NextLine<'a> = &'a mut dyn FnMut(&mut Vec<u8>) -> Option<(Location, Range<usize>)>;

struct Job {
    id: u64,
    /// The batch's lines, one after the other.
    buf: Vec<u8>,
    lines: Vec<(Location, Range<usize>)>,
    keys: Arc<KeyRing>,
}

fn prepare(job: Job) -> (u64, Vec<Prepared>) {
    let parsed: Vec<(Location, ParsedLine)> = job
        .lines
        .into_iter()
        .map(|(loc, range)| {
            let line = job.buf.get(range).unwrap_or_default();
            (loc, Entry::from_line_hashed(line))
        })
        .collect();
    let mut pres = precheck_many(
        parsed
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().map(|(e, h)| (e, h.as_ref()))),
        &job.keys,
    )
    .into_iter();
    let out = parsed
        .into_iter()
        .map(|(loc, r)| {
            let pre = if r.is_ok() { pres.next() } else { None };
            (loc, r.map(|(e, _)| e), pre)
        })
        .collect();
    (job.id, out)
}

/// The number of worker threads besides the calling thread: one fewer
/// than the available cores (at least one).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_sub(1)
        .clamp(1, MAX_WORKERS)
}

/// Feeds every line `next_line` gives to `seg`, in order, with the
/// per-entry work done on worker threads. `on_item` sees each parsed item
/// before `seg` does; `progress` is called with the number of lines
/// consumed so far every [`PROGRESS_EVERY`] lines and after each batch.
///
/// # Errors
/// [`Irregular`] as soon as `seg` gives up (the rest is not read).
pub(crate) fn run(
    next_line: NextLine<'_>,
    seg: &mut SegmentStream,
    on_item: &mut dyn FnMut(&Location, &Result<Entry, EntryError>),
    progress: &mut dyn FnMut(u64),
) -> Result<(), Irregular> {
    let workers = workers();
    let limit = in_flight(workers);
    let (work_tx, work_rx) = mpsc::sync_channel::<Job>(limit);
    let queue = Queue {
        rx: Mutex::new(work_rx),
        waiting: AtomicUsize::new(0),
    };
    let (done_tx, done_rx) = mpsc::channel::<(u64, Vec<Prepared>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let job = queue.rx.lock().recv();
                let Ok(job) = job else { break };
                queue.waiting.fetch_sub(1, Ordering::Relaxed);
                if done_tx.send(prepare(job)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut feeder = Feeder {
            seg,
            on_item,
            progress,
            pending: BTreeMap::new(),
            next: 0,
            consumed: 0,
            result: Ok(()),
        };
        let mut keys = Arc::new(feeder.seg.keys().clone());
        let mut sent = 0u64;
        let mut line_bytes = 1024;
        while feeder.result.is_ok() {
            let mut buf = Vec::with_capacity(BATCH * line_bytes);
            let mut batch = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                let Some(line) = next_line(&mut buf) else {
                    break;
                };
                batch.push(line);
            }
            if batch.is_empty() {
                break;
            }
            // Size the next buffer after this one (lines of a log are alike).
            line_bytes = (buf.len() / batch.len() + 64).min(1 << 20);
            if feeder.seg.keys().iter().count() != keys.iter().count() {
                keys = Arc::new(feeder.seg.keys().clone());
            }
            let job = Job {
                id: sent,
                buf,
                lines: batch,
                keys: Arc::clone(&keys),
            };
            queue.waiting.fetch_add(1, Ordering::Relaxed);
            if work_tx.send(job).is_err() {
                break;
            }
            sent += 1;
            // Consume what is ready; wait when too much is in flight.
            while let Ok(done) = done_rx.try_recv() {
                feeder.take(done);
            }
            while sent - feeder.next >= limit as u64 && feeder.result.is_ok() {
                match queue.next_done(workers, &done_rx) {
                    Some(done) => feeder.take(done),
                    None => break,
                }
            }
        }
        drop(work_tx);
        while feeder.next < sent && feeder.result.is_ok() {
            match queue.next_done(workers, &done_rx) {
                Some(done) => feeder.take(done),
                None => break,
            }
        }
        feeder.result
    })
}

/// The batches sent to the workers and not yet taken.
struct Queue {
    rx: Mutex<mpsc::Receiver<Job>>,
    /// How many wait (counted up before each send, down after each take).
    waiting: AtomicUsize,
}

impl Queue {
    /// A finished batch: one still waiting, prepared on this thread
    /// (caller runs) when more wait than there are `workers` to take them
    /// next, so that no worker runs dry meanwhile; or else the next one a
    /// worker finishes. `None` when the workers are gone.
    fn next_done(
        &self,
        workers: usize,
        done_rx: &mpsc::Receiver<(u64, Vec<Prepared>)>,
    ) -> Option<(u64, Vec<Prepared>)> {
        let spare = self.waiting.load(Ordering::Relaxed) > workers;
        // A worker waiting on an empty queue holds the lock: none waits then.
        let job = spare
            .then(|| self.rx.try_lock().and_then(|rx| rx.try_recv().ok()))
            .flatten();
        match job {
            Some(job) => {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                Some(prepare(job))
            }
            None => done_rx.recv().ok(),
        }
    }
}

struct Feeder<'a, 'b> {
    seg: &'a mut SegmentStream,
    on_item: &'a mut dyn FnMut(&Location, &Result<Entry, EntryError>),
    progress: &'b mut dyn FnMut(u64),
    pending: BTreeMap<u64, Vec<Prepared>>,
    next: u64,
    consumed: u64,
    result: Result<(), Irregular>,
}

impl Feeder<'_, '_> {
    /// Stores a finished batch and consumes every batch now in order.
    fn take(&mut self, (id, items): (u64, Vec<Prepared>)) {
        self.pending.insert(id, items);
        while let Some(items) = self.pending.remove(&self.next) {
            self.next += 1;
            if self.result.is_err() {
                continue;
            }
            for (loc, parsed, pre) in items {
                (self.on_item)(&loc, &parsed);
                self.consumed += 1;
                if let Err(e) = self.seg.push(loc, parsed, pre) {
                    self.result = Err(e);
                    break;
                }
                if self.consumed.is_multiple_of(PROGRESS_EVERY) {
                    (self.progress)(self.consumed);
                }
            }
            if !self.consumed.is_multiple_of(PROGRESS_EVERY) {
                (self.progress)(self.consumed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn queue_of(jobs: u64) -> (Queue, mpsc::SyncSender<Job>) {
        let (tx, rx) = mpsc::sync_channel::<Job>(8);
        let queue = Queue {
            rx: Mutex::new(rx),
            waiting: AtomicUsize::new(0),
        };
        for id in 0..jobs {
            queue.waiting.fetch_add(1, Ordering::Relaxed);
            tx.send(Job {
                id,
                buf: Vec::new(),
                lines: Vec::new(),
                keys: Arc::new(KeyRing::new()),
            })
            .unwrap();
        }
        (queue, tx)
    }

    /// The calling thread prepares a waiting batch itself only when more
    /// wait than there are workers; otherwise it waits for a worker's
    /// (here: none, so the closed channel says so) and takes nothing.
    #[test]
    fn the_caller_takes_a_batch_only_when_more_wait_than_there_are_workers() {
        let (done_tx, done_rx) = mpsc::channel::<(u64, Vec<Prepared>)>();
        drop(done_tx);
        let (queue, _tx) = queue_of(2);
        let (id, items) = queue.next_done(1, &done_rx).unwrap();
        assert_eq!((id, items.len()), (0, 0));
        assert_eq!(queue.waiting.load(Ordering::Relaxed), 1);
        // One waits for the one worker: left to it.
        assert!(queue.next_done(1, &done_rx).is_none());
        assert_eq!(queue.waiting.load(Ordering::Relaxed), 1);
        assert!(queue.rx.lock().try_recv().is_ok_and(|j| j.id == 1));
        // With no worker at all, the only waiting batch is the caller's.
        let (queue, _tx) = queue_of(1);
        assert_eq!(queue.next_done(0, &done_rx).map(|(id, _)| id), Some(0));
    }
}
