//! Drift of the action distribution, as Jensen–Shannon divergence in bits
//! (SPEC §11.2.2).
//!
//! `JSD(P, Q) = ½·KL(P‖M) + ½·KL(Q‖M)` with `M = ½(P + Q)` and base-2
//! logarithms (`0·log 0 = 0`), so `0 ≤ JSD ≤ 1`; it is 1 exactly when P and
//! Q have disjoint support. Distributions are over the seven actions of
//! SPEC §4.1 in their SPEC order.
//!
//! The verified decisions are cut into consecutive windows of `window`
//! decisions (a last partial window is compared too, and reported with its
//! size). Each window is compared with the baseline: [`Baseline::Frozen`]
//! takes the first `n` decisions once, [`Baseline::Rolling`] takes the
//! window before.

use serde::Serialize;

use super::{check, decisions, result, MonitorError, MonitorMethod, MonitorResult};
use crate::id::{Code, Seq};
use crate::receipt::Action;
use crate::verified::VerifiedLog;

/// What each window is compared with.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
pub enum Baseline {
    /// The first `n` decisions, frozen; windows start after them.
    Frozen {
        /// Baseline size.
        n: u64,
    },
    /// The previous window (the first window is the baseline of the second).
    Rolling,
}

/// Parameters of the drift monitor. Defaults: frozen baseline of 500
/// decisions, windows of 500, alarm at 0.1 bit.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct DriftParams {
    /// The baseline.
    pub baseline: Baseline,
    /// Alarm when a window's divergence exceeds this, in bits, in (0, 1].
    pub threshold: f64,
    /// Decisions per window, at least 1.
    pub window: u64,
}

impl Default for DriftParams {
    fn default() -> Self {
        DriftParams {
            baseline: Baseline::Frozen { n: 500 },
            threshold: 0.1,
            window: 500,
        }
    }
}

/// One compared window.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct DriftWindow {
    /// Seq of its first decision.
    pub first: Seq,
    /// Seq of its last decision.
    pub last: Seq,
    /// Decisions in it.
    pub n: u64,
    /// Divergence from its baseline, in bits.
    pub jsd: f64,
    /// `jsd > threshold`.
    pub alarm: bool,
}

/// Result of [`run`].
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct DriftReport {
    /// Compared windows, in order.
    pub windows: Vec<DriftWindow>,
    /// Decisions read (baseline included).
    pub observations: u64,
    /// Seq of the first decision read (baseline included).
    pub first: Option<Seq>,
}

/// Jensen–Shannon divergence in bits of two count vectors of equal length
/// (each normalised by its own total).
///
/// # Errors
/// [`MonitorError::BadParams`] when the lengths differ or a total is 0.
pub fn jsd_bits(p: &[u64], q: &[u64]) -> Result<f64, MonitorError> {
    check(p.len() == q.len(), "distribution", "lengths differ")?;
    let (tp, tq) = (p.iter().sum::<u64>() as f64, q.iter().sum::<u64>() as f64);
    check(tp > 0.0 && tq > 0.0, "distribution", "must not be empty")?;
    let mut d = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (pa, qb) = (a as f64 / tp, b as f64 / tq);
        let m = 0.5 * (pa + qb);
        if pa > 0.0 {
            d += 0.5 * pa * (pa / m).log2();
        }
        if qb > 0.0 {
            d += 0.5 * qb * (qb / m).log2();
        }
    }
    // Rounding can leave tiny excursions outside [0, 1].
    Ok(d.clamp(0.0, 1.0))
}

fn counts(actions: &[Action]) -> [u64; 7] {
    let mut c = [0u64; 7];
    for a in actions {
        if let Some(i) = Action::ALL.iter().position(|x| x == a) {
            c[i] += 1;
        }
    }
    c
}

impl DriftParams {
    /// Checks the ranges documented on the fields.
    ///
    /// # Errors
    /// [`MonitorError::BadParams`].
    pub fn validate(&self) -> Result<(), MonitorError> {
        check(self.window >= 1, "window", "must be at least 1")?;
        check(
            self.threshold > 0.0 && self.threshold <= 1.0,
            "threshold",
            "must be in (0, 1]",
        )?;
        if let Baseline::Frozen { n } = self.baseline {
            check(n >= 1, "baseline.n", "must be at least 1")?;
        }
        Ok(())
    }
}

/// Runs the drift monitor over the verified decisions of `log`.
///
/// # Errors
/// [`MonitorError::BadParams`]; [`MonitorError::TooFew`] when no window
/// can be compared.
pub fn run(params: &DriftParams, log: &VerifiedLog) -> Result<DriftReport, MonitorError> {
    let seq_actions: Vec<(Seq, Action)> = decisions(log).map(|(s, d)| (s, d.action)).collect();
    run_actions(params, &seq_actions)
}

/// As [`run`], over `(seq, action)` pairs in order.
///
/// # Errors
/// As [`run`].
pub fn run_actions(
    params: &DriftParams,
    seq_actions: &[(Seq, Action)],
) -> Result<DriftReport, MonitorError> {
    params.validate()?;
    let have = seq_actions.len() as u64;
    let w = usize::try_from(params.window).unwrap_or(usize::MAX);
    let (mut baseline, rest) = match params.baseline {
        Baseline::Frozen { n } => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if seq_actions.len() <= n {
                return Err(MonitorError::TooFew {
                    needed: n as u64 + 1,
                    have,
                });
            }
            let (b, r) = seq_actions.split_at(n);
            (counts(&b.iter().map(|x| x.1).collect::<Vec<_>>()), r)
        }
        Baseline::Rolling => {
            if seq_actions.len() <= w {
                return Err(MonitorError::TooFew {
                    needed: w as u64 + 1,
                    have,
                });
            }
            let (b, r) = seq_actions.split_at(w);
            (counts(&b.iter().map(|x| x.1).collect::<Vec<_>>()), r)
        }
    };
    let mut windows = Vec::new();
    for chunk in rest.chunks(w) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let c = counts(&chunk.iter().map(|x| x.1).collect::<Vec<_>>());
        let jsd = jsd_bits(&baseline, &c)?;
        windows.push(DriftWindow {
            first: first.0,
            last: last.0,
            n: chunk.len() as u64,
            jsd,
            alarm: jsd > params.threshold,
        });
        if params.baseline == Baseline::Rolling {
            baseline = c;
        }
    }
    Ok(DriftReport {
        windows,
        observations: have,
        first: seq_actions.first().map(|x| x.0),
    })
}

impl DriftReport {
    /// The `monitor` entry body: statistic = the largest window divergence,
    /// alarm when any window alarmed.
    ///
    /// # Errors
    /// [`MonitorError::TooFew`] without windows; [`MonitorError::Encoding`].
    pub fn to_result(
        &self,
        name: &Code,
        params: &DriftParams,
    ) -> Result<MonitorResult, MonitorError> {
        let (Some(first), Some(last)) = (self.first, self.windows.last()) else {
            return Err(MonitorError::TooFew { needed: 1, have: 0 });
        };
        let max = self.windows.iter().map(|w| w.jsd).fold(0.0, f64::max);
        result(
            MonitorMethod::Drift,
            name,
            super::params_digest(params)?,
            (first, last.last),
            self.observations,
            max,
            params.threshold,
            self.windows.iter().any(|w| w.alarm),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: disjoint support = 1 bit; (½,½) vs (1,0):
    /// M = (¾,¼), ½[½·log2(⅔) + ½·log2 2] + ½[log2(4/3)] = 0.311278 bit.
    #[test]
    fn jsd_known_answers() {
        assert_eq!(jsd_bits(&[1, 0], &[0, 1]).unwrap(), 1.0);
        assert_eq!(jsd_bits(&[3, 7], &[30, 70]).unwrap(), 0.0);
        let d = jsd_bits(&[1, 1], &[1, 0]).unwrap();
        assert!((d - 0.311_278_124_459_132_8).abs() < 1e-12, "{d}");
        // Symmetric.
        assert_eq!(d, jsd_bits(&[1, 0], &[1, 1]).unwrap());
        assert!(jsd_bits(&[1], &[1, 2]).is_err());
        assert!(jsd_bits(&[0, 0], &[1, 2]).is_err());
    }

    fn stream(parts: &[(usize, Action)]) -> Vec<(Seq, Action)> {
        let mut out = Vec::new();
        for &(n, a) in parts {
            for _ in 0..n {
                out.push((Seq(out.len() as u64), a));
            }
        }
        out
    }

    #[test]
    fn frozen_and_rolling_baselines() {
        // 100 allow, then 100 reject: the second window is disjoint.
        let s = stream(&[(100, Action::Allow), (100, Action::Reject)]);
        let frozen = DriftParams {
            baseline: Baseline::Frozen { n: 100 },
            window: 50,
            threshold: 0.1,
        };
        let r = run_actions(&frozen, &s).unwrap();
        assert_eq!(r.windows.len(), 2);
        assert!(r.windows.iter().all(|w| w.jsd == 1.0 && w.alarm));
        let rolling = DriftParams {
            baseline: Baseline::Rolling,
            ..frozen
        };
        let r = run_actions(&rolling, &s).unwrap();
        // Windows: [50..100) vs [0..50) = 0; [100..150) vs [50..100) = 1; [150..200) vs [100..150) = 0.
        let j: Vec<f64> = r.windows.iter().map(|w| w.jsd).collect();
        assert_eq!(j, vec![0.0, 1.0, 0.0]);
        assert_eq!(r.windows[1].first, Seq(100));
        assert!(matches!(
            run_actions(&frozen, &s[..100]),
            Err(MonitorError::TooFew {
                needed: 101,
                have: 100
            })
        ));
        assert!(DriftParams {
            threshold: 1.5,
            ..frozen
        }
        .validate()
        .is_err());
        assert!(DriftParams {
            window: 0,
            ..frozen
        }
        .validate()
        .is_err());
    }
}
