//! Wald's sequential probability ratio test over the rate of chosen actions
//! (by default `reject` and `escalate`) among verified decisions (SPEC §11.2.1).
//!
//! Each decision is a Bernoulli observation x (1 when its action is counted).
//! Hypotheses: H0 rate = `p0`, H1 rate = `p1` (> `p0`). The log-likelihood
//! ratio moves by `ln(p1/p0)` for x = 1 and by `ln((1−p1)/(1−p0))` for x = 0;
//! H1 is accepted (an alarm) when it reaches `A = ln((1−β)/α)`, H0 when it
//! falls to `B = ln(β/(1−α))` (Wald 1945).
//!
//! A single test that is never restarted lets a long clean history push the
//! ratio far below `B`, so a later shift takes very long to flag (the Python
//! reference needs 1,016 consecutive rejects after 10,000 allows). [`Restart`]
//! chooses how the test starts over; the default, [`Restart::Cusum`], is
//! Page's CUSUM form (the ratio never falls below 0), which flags a shift
//! after `ceil(A / ln(p1/p0))` consecutive counted actions whatever came
//! before. After an alarm the test restarts at 0 and keeps monitoring.

use serde::Serialize;

use super::{check, decisions, result, MonitorError, MonitorMethod, MonitorResult};
use crate::id::{Code, Seq};
use crate::receipt::Action;
use crate::verified::VerifiedLog;

/// How the test starts over when it accepts H0.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Restart {
    /// Page's CUSUM: the ratio is clamped at 0 from below (default).
    #[default]
    Cusum,
    /// Repeated Wald test: when the ratio reaches `B`, H0 is accepted and
    /// the test restarts at 0.
    AtLowerBound,
    /// One test that never restarts on H0 (the reference's behaviour; kept
    /// for comparison, not recommended).
    Never,
}

/// Parameters of the SPRT (SPEC §11.2.1). Defaults: `p0` 0.05, `p1` 0.15,
/// `alpha` 0.05, `beta` 0.10, counting `reject` and `escalate`, CUSUM restart.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SprtParams {
    /// Counted actions.
    pub actions: Vec<Action>,
    /// Type I error (false alarm) bound, in (0, 1).
    pub alpha: f64,
    /// Type II error (missed shift) bound, in (0, 1), with α + β < 1.
    pub beta: f64,
    /// Rate under H0 (in control), in (0, 1).
    pub p0: f64,
    /// Rate under H1 (shifted), in (p0, 1).
    pub p1: f64,
    /// Restart rule.
    pub restart: Restart,
}

impl Default for SprtParams {
    fn default() -> Self {
        SprtParams {
            actions: vec![Action::Reject, Action::Escalate],
            alpha: 0.05,
            beta: 0.10,
            p0: 0.05,
            p1: 0.15,
            restart: Restart::Cusum,
        }
    }
}

/// Where the test stands after the last observation.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SprtState {
    /// Between the bounds.
    Continue,
    /// The last observation accepted H0 (and, with a restart rule, restarted).
    AcceptedH0,
    /// The last observation raised an alarm (accepted H1).
    Alarm,
}

/// Result of [`run`].
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SprtReport {
    /// Upper bound `A = ln((1−β)/α)`.
    pub upper: f64,
    /// Lower bound `B = ln(β/(1−α))`.
    pub lower: f64,
    /// Log-likelihood ratio after the last observation.
    pub llr: f64,
    /// State after the last observation.
    pub state: SprtState,
    /// Seqs of the decisions at which an alarm was raised.
    pub alarms: Vec<Seq>,
    /// Decisions observed.
    pub observations: u64,
    /// Of which counted (action in `actions`).
    pub counted: u64,
    /// Seqs of the first and last decision observed.
    pub span: Option<(Seq, Seq)>,
}

impl SprtParams {
    /// Checks the ranges documented on the fields.
    ///
    /// # Errors
    /// [`MonitorError::BadParams`].
    pub fn validate(&self) -> Result<(), MonitorError> {
        let open = |x: f64| x > 0.0 && x < 1.0;
        check(open(self.p0), "p0", "must be in (0, 1)")?;
        check(
            open(self.p1) && self.p1 > self.p0,
            "p1",
            "must be in (p0, 1)",
        )?;
        check(open(self.alpha), "alpha", "must be in (0, 1)")?;
        check(open(self.beta), "beta", "must be in (0, 1)")?;
        check(
            self.alpha + self.beta < 1.0,
            "beta",
            "alpha + beta must be below 1",
        )?;
        check(!self.actions.is_empty(), "actions", "must not be empty")
    }
    /// Wald's bounds `(A, B)`.
    pub fn bounds(&self) -> (f64, f64) {
        (
            ((1.0 - self.beta) / self.alpha).ln(),
            (self.beta / (1.0 - self.alpha)).ln(),
        )
    }
}

/// The test over a sequence of observations (true = counted).
///
/// # Errors
/// [`MonitorError::BadParams`].
pub fn run_observations(
    params: &SprtParams,
    xs: impl IntoIterator<Item = (Seq, bool)>,
) -> Result<SprtReport, MonitorError> {
    params.validate()?;
    let (upper, lower) = params.bounds();
    let up = (params.p1 / params.p0).ln();
    let down = ((1.0 - params.p1) / (1.0 - params.p0)).ln();
    let mut r = SprtReport {
        upper,
        lower,
        llr: 0.0,
        state: SprtState::Continue,
        alarms: Vec::new(),
        observations: 0,
        counted: 0,
        span: None,
    };
    for (seq, x) in xs {
        r.observations += 1;
        r.span = Some((r.span.map_or(seq, |s| s.0), seq));
        if x {
            r.counted += 1;
            r.llr += up;
        } else {
            r.llr += down;
        }
        r.state = SprtState::Continue;
        if r.llr >= upper {
            r.alarms.push(seq);
            r.state = SprtState::Alarm;
            r.llr = 0.0;
        } else if r.llr <= lower {
            r.state = SprtState::AcceptedH0;
            if params.restart == Restart::AtLowerBound {
                r.llr = 0.0;
            }
        }
        if params.restart == Restart::Cusum && r.llr < 0.0 {
            r.llr = 0.0;
        }
    }
    Ok(r)
}

/// The test over the verified decisions of `log`, in seq order.
///
/// # Errors
/// [`MonitorError::BadParams`].
pub fn run(params: &SprtParams, log: &VerifiedLog) -> Result<SprtReport, MonitorError> {
    run_observations(
        params,
        decisions(log).map(|(seq, d)| (seq, params.actions.contains(&d.action))),
    )
}

impl SprtReport {
    /// The `monitor` entry body for this run (statistic: the final ratio, or
    /// `A` when the last observation raised an alarm).
    ///
    /// # Errors
    /// [`MonitorError::TooFew`] when nothing was observed;
    /// [`MonitorError::Encoding`].
    pub fn to_result(
        &self,
        name: &Code,
        params: &SprtParams,
    ) -> Result<MonitorResult, MonitorError> {
        let span = self
            .span
            .ok_or(MonitorError::TooFew { needed: 1, have: 0 })?;
        let statistic = if self.state == SprtState::Alarm {
            self.upper
        } else {
            self.llr
        };
        result(
            MonitorMethod::Sprt,
            name,
            super::params_digest(params)?,
            span,
            self.observations,
            statistic,
            self.upper,
            !self.alarms.is_empty(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(pattern: &[(u64, bool)]) -> Vec<(Seq, bool)> {
        let mut out = Vec::new();
        for &(n, x) in pattern {
            for _ in 0..n {
                out.push((Seq(out.len() as u64), x));
            }
        }
        out
    }

    /// Wald's bounds for α = 0.05, β = 0.10: A = ln 18, B = ln(0.1/0.95).
    #[test]
    fn wald_bounds_known_answer() {
        let (a, b) = SprtParams::default().bounds();
        assert!((a - 2.890_371_757_896_165).abs() < 1e-12, "{a}");
        assert!((b - -2.251_291_798_606_495).abs() < 1e-12, "{b}");
    }

    /// Rejects needed to flag after 10,000 allows: the never-restarted test
    /// reproduces the reference's 1,016; CUSUM needs ceil(ln 18 / ln 3) = 3;
    /// the repeated Wald test (restart at B every 21 allows, 10,000 mod 21 =
    /// 4 allows left: ratio −4·0.111226) needs ceil((2.89037 + 0.44490) / ln 3) = 4.
    #[test]
    fn rejects_needed_after_a_long_clean_history() {
        for (restart, want) in [
            (Restart::Never, 1016),
            (Restart::Cusum, 3),
            (Restart::AtLowerBound, 4),
        ] {
            let p = SprtParams {
                restart,
                ..SprtParams::default()
            };
            let r = run_observations(&p, obs(&[(10_000, false), (2_000, true)])).unwrap();
            let first = r.alarms.first().copied().unwrap();
            assert_eq!(first.0 - 10_000 + 1, want, "{restart:?}");
        }
    }

    #[test]
    fn in_control_stream_raises_no_alarm_and_bad_params_are_refused() {
        // 1 reject in 20 (= p0) for 2,000 observations.
        let xs: Vec<(Seq, bool)> = (0..2000).map(|i| (Seq(i), i % 20 == 0)).collect();
        let r = run_observations(&SprtParams::default(), xs).unwrap();
        assert!(r.alarms.is_empty(), "{:?}", r.alarms);
        assert_eq!(r.counted, 100);
        for (p, name) in [
            (
                SprtParams {
                    p1: 0.01,
                    ..SprtParams::default()
                },
                "p1",
            ),
            (
                SprtParams {
                    p0: 0.0,
                    ..SprtParams::default()
                },
                "p0",
            ),
            (
                SprtParams {
                    alpha: 1.0,
                    ..SprtParams::default()
                },
                "alpha",
            ),
            (
                SprtParams {
                    alpha: 0.6,
                    beta: 0.5,
                    ..SprtParams::default()
                },
                "beta",
            ),
            (
                SprtParams {
                    actions: vec![],
                    ..SprtParams::default()
                },
                "actions",
            ),
            (
                SprtParams {
                    p0: f64::NAN,
                    ..SprtParams::default()
                },
                "p0",
            ),
        ] {
            assert!(
                matches!(p.validate(), Err(MonitorError::BadParams { name: n, .. }) if n == name),
                "{name}"
            );
        }
    }
}
