//! Where the key store's nonces (SPEC §4.4 sealed fields, §4.6 wrapped
//! keys) come from: 96 random bits each, from the OS CSPRNG by default.
//!
//! One `getrandom` call costs about a quarter of sealing a 1 KiB field
//! (≈0.25 µs for 12 bytes, ≈0.95 µs for 384 bytes on the reference VM:
//! mostly the kernel's per-call generator setup), so the default source
//! draws [`BATCH`] nonces per call into a per-thread buffer and hands them
//! out in order. Nonces are public (written beside the
//! ciphertext or the wrapped key), so a buffer of future nonces is no
//! secret; each buffered nonce is handed out once.
//!
//! A `fork` copies the buffer into the child. The buffer remembers the
//! process id it was filled in and is refilled when that changes, so a
//! child never repeats its parent's nonces. (A cloned virtual machine
//! could repeat up to [`BATCH`] − 1 of them: harmless, because each field
//! key encrypts one message — SPEC §4.4 — and the entry ids that make
//! field keys unique are drawn from the OS per entry, not from here.)

use std::cell::RefCell;
use std::sync::Arc;

use rand_core::{OsRng, RngCore};

use super::format::Nonce;
use crate::random::RandomSource;

/// Nonces drawn from the OS per `getrandom` call.
pub(crate) const BATCH: usize = 32;

const NONCE_LEN: usize = 12;

/// A source of nonces for the key store.
pub(crate) enum NonceSource {
    /// The OS CSPRNG, in batches of [`BATCH`] per thread and process.
    Os,
    /// An injected source (tests, seeded demos): one `fill` per nonce,
    /// exactly as before batching existed, so seeded outputs are unchanged.
    Custom(Arc<dyn RandomSource>),
}

impl NonceSource {
    /// The next nonce.
    pub(crate) fn next(&self) -> Nonce {
        match self {
            NonceSource::Os => os_nonce(),
            NonceSource::Custom(r) => {
                let mut n = [0u8; NONCE_LEN];
                r.fill(&mut n);
                Nonce(n)
            }
        }
    }
}

/// Unused nonces from the last `getrandom` of this thread.
struct Batch {
    bytes: [u8; NONCE_LEN * BATCH],
    /// Index of the next unused nonce; `BATCH` when used up.
    next: usize,
    /// The process the batch was drawn in.
    pid: u32,
}

thread_local! {
    static OS_BATCH: RefCell<Batch> = const {
        RefCell::new(Batch { bytes: [0; NONCE_LEN * BATCH], next: BATCH, pid: 0 })
    };
}

fn os_nonce() -> Nonce {
    let from_batch = OS_BATCH.try_with(|cell| {
        let mut b = cell.try_borrow_mut().ok()?;
        let pid = std::process::id();
        if b.next >= BATCH || b.pid != pid {
            OsRng.fill_bytes(&mut b.bytes);
            b.next = 0;
            b.pid = pid;
        }
        let i = b.next;
        b.next += 1;
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(b.bytes.chunks_exact(NONCE_LEN).nth(i)?);
        Some(Nonce(n))
    });
    match from_batch {
        Ok(Some(n)) => n,
        // Thread-local storage being torn down, or a re-entrant call: draw
        // this one nonce directly.
        _ => {
            let mut n = [0u8; NONCE_LEN];
            OsRng.fill_bytes(&mut n);
            Nonce(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn os_nonces_are_distinct_across_batches_and_threads() {
        let mut seen = HashSet::new();
        for _ in 0..3 * BATCH + 1 {
            assert!(seen.insert(NonceSource::Os.next().0), "repeated nonce");
        }
        let other: Vec<[u8; 12]> =
            std::thread::spawn(|| (0..BATCH + 1).map(|_| NonceSource::Os.next().0).collect())
                .join()
                .unwrap();
        for n in other {
            assert!(seen.insert(n), "another thread repeated a nonce");
        }
    }

    #[test]
    fn a_new_process_id_discards_the_batch() {
        let first = NonceSource::Os.next();
        // What a forked child sees: the parent's batch under another pid.
        let copied = OS_BATCH.with(|c| {
            let mut b = c.borrow_mut();
            b.pid = b.pid.wrapping_add(1);
            b.bytes
        });
        let next = NonceSource::Os.next();
        assert!(
            !copied.chunks_exact(NONCE_LEN).any(|c| c == next.0),
            "a child must not hand out the parent's buffered nonces"
        );
        assert_ne!(first, next);
        assert_eq!(OS_BATCH.with(|c| c.borrow().next), 1, "refilled");
    }

    #[test]
    fn a_custom_source_is_drawn_once_per_nonce() {
        let a = NonceSource::Custom(Arc::new(crate::random::SeededRandom::new(7)));
        let r = crate::random::SeededRandom::new(7);
        for _ in 0..3 {
            let mut n = [0u8; 12];
            r.fill(&mut n);
            assert_eq!(a.next().0, n);
        }
    }
}
