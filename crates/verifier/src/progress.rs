//! The progress bar drawn on stderr while a large package is verified.
//!
//! Fed by the library's progress callback
//! ([`ai_audit::package::VerifyOptions::with_progress`]); drawn only when
//! stderr is a terminal and the package is large, unless asked for with
//! `--progress always`. It never touches stdout, so piped reports stay clean.

use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, Instant};

use ai_audit::package::Progress;

/// Packages with fewer entries than this get no bar in `auto` mode.
pub const AUTO_MIN_ENTRIES: u64 = 10_000;
/// Cells of the bar.
const WIDTH: usize = 30;
/// Least time between two redraws.
const REDRAW: Duration = Duration::from_millis(100);

/// One line of the bar (no carriage return, no newline).
pub fn line(p: Progress) -> String {
    let total = p.entries_total.max(1);
    let done = p.entries_done.min(total);
    let pct = u128::from(done) * 100 / u128::from(total);
    let filled = usize::try_from(u128::from(done) * WIDTH as u128 / u128::from(total))
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "verifying [{}{}] {pct:>3}% {done}/{} entries",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        p.entries_total
    )
}

/// The bar's state; draws through [`Bar::update`], ends with [`Bar::finish`].
pub struct Bar {
    terminal: bool,
    last: Cell<Option<Instant>>,
    drawn: Cell<bool>,
}

impl Bar {
    /// A bar for stderr; `terminal` says whether stderr is one (it then
    /// redraws in place and is erased at the end).
    pub fn new(terminal: bool) -> Bar {
        Bar {
            terminal,
            last: Cell::new(None),
            drawn: Cell::new(false),
        }
    }

    /// Redraws (at most every 100 ms, and always at 100%).
    pub fn update(&self, p: Progress) {
        let now = Instant::now();
        let due = match self.last.get() {
            None => true,
            Some(t) => now.duration_since(t) >= REDRAW,
        };
        if !due && p.entries_done < p.entries_total {
            return;
        }
        self.last.set(Some(now));
        self.drawn.set(true);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{}", line(p));
        let _ = err.flush();
    }

    /// Erases the bar on a terminal, or ends its line elsewhere.
    pub fn finish(&self) {
        if !self.drawn.get() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K")
        } else {
            writeln!(err)
        };
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(done: u64, total: u64) -> Progress {
        let mut p = Progress::default();
        p.entries_done = done;
        p.entries_total = total;
        p
    }

    #[test]
    fn the_line_shows_the_share_done() {
        assert_eq!(
            line(at(0, 1000)),
            "verifying [------------------------------]   0% 0/1000 entries"
        );
        assert_eq!(
            line(at(500, 1000)),
            "verifying [###############---------------]  50% 500/1000 entries"
        );
        assert_eq!(
            line(at(1000, 1000)),
            "verifying [##############################] 100% 1000/1000 entries"
        );
    }

    #[test]
    fn a_lying_manifest_cannot_overflow_the_bar() {
        // More entries than the manifest claims, or a claim of zero.
        assert!(line(at(5000, 10)).contains("100%"));
        assert!(line(at(3, 0)).contains("100%"));
        assert!(line(at(u64::MAX, u64::MAX)).contains("100%"));
    }
}
