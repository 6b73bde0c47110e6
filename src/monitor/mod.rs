//! Monitors over verified entries (SPEC §11.2): a sequential probability
//! ratio test over reject/escalate rates ([`sprt`]), drift of the action
//! distribution as Jensen–Shannon divergence ([`drift`]), and regression of
//! numeric metrics by z-score and IQR ([`regression`]).
//!
//! Every monitor reads a [`VerifiedLog`] only, and each run can be written
//! back to the log as a `monitor` entry ([`MonitorResult`], SPEC §4.1) whose
//! `params` member commits to the exact parameters used.

pub mod drift;
pub mod regression;
pub mod sprt;

use serde::{Deserialize, Serialize};

use crate::encoding::{self, EncodingError, MONITOR_PARAMS_LABEL};
use crate::hash::Hash32;
use crate::id::{Code, Seq};
use crate::receipt::Finite;
use crate::verified::VerifiedLog;

pub use drift::{Baseline, DriftParams, DriftReport, DriftWindow};
pub use regression::{MetricField, RegressionParams, RegressionReport, RegressionWindow};
pub use sprt::{Restart, SprtParams, SprtReport, SprtState};

/// Errors of the monitors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// A parameter is out of its documented range.
    #[error("monitor parameter {name}: {rule}")]
    BadParams {
        /// The parameter.
        name: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// There are too few observations for the configured baseline and window.
    #[error("too few observations: {needed} needed, {have} verified")]
    TooFew {
        /// Needed.
        needed: u64,
        /// Present.
        have: u64,
    },
    /// The result cannot be encoded (a statistic out of the §2.2 range).
    #[error("monitor result: {0}")]
    Encoding(#[from] EncodingError),
}

/// Which monitor produced a [`MonitorResult`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MonitorMethod {
    /// [`sprt`]: statistic = log-likelihood ratio, threshold = ln((1−β)/α).
    Sprt,
    /// [`drift`]: statistic = Jensen–Shannon divergence in bits.
    Drift,
    /// [`regression`]: statistic = window z-score.
    Regression,
}

/// Body of a `monitor` entry: one monitor run over verified entries
/// `first..=last` (SPEC §4.1, §11.2).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorResult {
    /// Whether the monitor raised an alarm in this run.
    pub alarm: bool,
    /// Seq of the first entry the run read.
    pub first: Seq,
    /// Seq of the last entry the run read.
    pub last: Seq,
    /// The monitor.
    pub method: MonitorMethod,
    /// The monitor's name, e.g. `reject_rate`.
    pub monitor: Code,
    /// Observations read.
    pub observations: u64,
    /// `SHA-256(MONITOR_PARAMS_LABEL || JCS(params))` (SPEC §11.2).
    pub params: Hash32,
    /// The final statistic (see [`MonitorMethod`]).
    pub statistic: Finite,
    /// The alarm threshold of the statistic.
    pub threshold: Finite,
}

/// Digest of monitor parameters: `SHA-256(MONITOR_PARAMS_LABEL || JCS(params))`.
///
/// # Errors
/// [`MonitorError::Encoding`] for a non-finite parameter.
pub fn params_digest<T: Serialize>(params: &T) -> Result<Hash32, MonitorError> {
    Ok(encoding::labelled_digest(MONITOR_PARAMS_LABEL, params)?)
}

/// Builds a `monitor` body, checking the statistic's range.
#[allow(clippy::too_many_arguments)]
pub(crate) fn result(
    method: MonitorMethod,
    monitor: &Code,
    params: Hash32,
    (first, last): (Seq, Seq),
    observations: u64,
    statistic: f64,
    threshold: f64,
    alarm: bool,
) -> Result<MonitorResult, MonitorError> {
    Ok(MonitorResult {
        alarm,
        first,
        last,
        method,
        monitor: monitor.clone(),
        observations,
        params,
        statistic: Finite::new(statistic)?,
        threshold: Finite::new(threshold)?,
    })
}

/// Decisions of a verified log with their seq, in seq order.
pub(crate) fn decisions(
    log: &VerifiedLog,
) -> impl Iterator<Item = (Seq, &crate::receipt::DecisionReceipt)> {
    log.entries().iter().filter_map(|e| match e.body() {
        crate::body::Body::Decision(d) => Some((e.seq(), &**d)),
        _ => None,
    })
}

pub(crate) fn check(
    cond: bool,
    name: &'static str,
    rule: &'static str,
) -> Result<(), MonitorError> {
    if cond {
        Ok(())
    } else {
        Err(MonitorError::BadParams { name, rule })
    }
}
