//! Writing to stdout without panicking on a closed pipe, and progress on
//! stderr only when it is a terminal.

use std::io::{IsTerminal as _, Write as _};

use ai_audit::cli::CliError;
use serde::Serialize;

/// Writes `bytes` to stdout; a closed stdout (`| head -1`) is not an error.
pub fn print_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Writes `text` to stdout.
pub fn print(text: &str) {
    print_bytes(text.as_bytes());
}

/// Writes `value` as pretty JSON and a newline.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Invalid(format!("cannot render JSON: {e}")))?;
    print(&(text + "\n"));
    Ok(())
}

/// A one-line progress indicator on stderr, shown only when stderr is a
/// terminal and the output is not JSON; silent when piped.
pub struct Progress {
    on: bool,
}

impl Progress {
    /// A progress line, off when piped or for `--json`.
    pub fn new(json: bool) -> Progress {
        Progress {
            on: !json && std::io::stderr().is_terminal(),
        }
    }

    /// Shows `msg` in place of the previous message.
    pub fn show(&self, msg: &str) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{msg}");
        }
    }

    /// Clears the line.
    pub fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// Writes the error and its recommendation to stderr (never panics, even
/// on a closed stderr).
pub fn print_error(e: &CliError) {
    let _ = write!(
        std::io::stderr(),
        "error: {e}\nhint: {}\n",
        e.recommendation()
    );
}
