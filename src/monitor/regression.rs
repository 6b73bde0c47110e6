//! Regression of numeric metrics (latency, tokens, cost) by z-score and IQR
//! (SPEC §11.2.3).
//!
//! Values of one [`MetricField`] are taken from verified `decision` and
//! `tool_call` entries that carry it, in seq order. The first `baseline`
//! values are the frozen reference: mean `μ`, sample standard deviation `s`
//! (divisor n − 1), quartiles Q1, Q3 by linear interpolation between order
//! statistics (Hyndman–Fan type 7, the default of R and NumPy) and
//! `IQR = Q3 − Q1`. The rest is cut into windows of `window` values; each
//! window gets
//! - `z = (mean_w − μ) / (s / √n_w)`, the z-score of the window mean, and
//! - the number of values outside the Tukey fences `[Q1 − k·IQR, Q3 + k·IQR]`.
//!
//! A window alarms when `|z| > z_max` or when its share of values outside
//! the fences exceeds `max_outlier_share`.

use serde::Serialize;

use super::{check, result, MonitorError, MonitorMethod, MonitorResult};
use crate::body::Body;
use crate::id::{Code, Seq};
use crate::receipt::Metrics;
use crate::verified::VerifiedLog;

/// A numeric member of [`Metrics`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MetricField {
    /// `latency_ms`.
    LatencyMs,
    /// `input_tokens`.
    InputTokens,
    /// `output_tokens`.
    OutputTokens,
    /// `cost_micros`.
    CostMicros,
}

impl MetricField {
    /// The value in `m`, if set.
    pub fn get(self, m: &Metrics) -> Option<u64> {
        match self {
            MetricField::LatencyMs => m.latency_ms,
            MetricField::InputTokens => m.input_tokens,
            MetricField::OutputTokens => m.output_tokens,
            MetricField::CostMicros => m.cost_micros,
        }
    }
}

/// Parameters. Defaults: latency, baseline 200 values, windows of 50,
/// `z_max` 3, fences at k = 1.5, alarm above a 10 % share outside them.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RegressionParams {
    /// Number of first values forming the frozen baseline, at least 2.
    pub baseline: u64,
    /// The metric.
    pub field: MetricField,
    /// Tukey fence factor k, > 0.
    pub iqr_k: f64,
    /// Alarm share of values outside the fences, in [0, 1].
    pub max_outlier_share: f64,
    /// Values per window, at least 1.
    pub window: u64,
    /// Alarm bound of |z|, > 0.
    pub z_max: f64,
}

impl Default for RegressionParams {
    fn default() -> Self {
        RegressionParams {
            baseline: 200,
            field: MetricField::LatencyMs,
            iqr_k: 1.5,
            max_outlier_share: 0.1,
            window: 50,
            z_max: 3.0,
        }
    }
}

/// Baseline statistics.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct BaselineStats {
    /// Values.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// First quartile (type 7).
    pub q1: f64,
    /// Median (type 7).
    pub median: f64,
    /// Third quartile (type 7).
    pub q3: f64,
}

/// One window.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RegressionWindow {
    /// Seq of its first value's entry.
    pub first: Seq,
    /// Seq of its last value's entry.
    pub last: Seq,
    /// Values in it.
    pub n: u64,
    /// Its mean.
    pub mean: f64,
    /// z-score of the mean (0 when the baseline has no spread and the mean equals it).
    pub z: f64,
    /// Values outside the fences.
    pub outliers: u64,
    /// Seqs of the entries holding them.
    pub outlier_seqs: Vec<Seq>,
    /// Whether it alarmed.
    pub alarm: bool,
}

/// Result of [`run`].
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RegressionReport {
    /// The baseline.
    pub baseline: BaselineStats,
    /// Windows after it.
    pub windows: Vec<RegressionWindow>,
    /// Values read (baseline included).
    pub observations: u64,
    /// Seq of the first value's entry.
    pub first: Seq,
}

/// Type-7 quantile of sorted values: `h = (n − 1)·p`, interpolated between
/// the order statistics around `h`. `None` when empty.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    let last = n.checked_sub(1)?;
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor();
    let i = lo as usize;
    let a = *sorted.get(i)?;
    let b = *sorted.get((i + 1).min(last))?;
    Some(a + (h - lo) * (b - a))
}

/// Baseline statistics of `values` (at least 2).
///
/// # Errors
/// [`MonitorError::TooFew`].
pub fn baseline_stats(values: &[f64]) -> Result<BaselineStats, MonitorError> {
    let n = values.len();
    if n < 2 {
        return Err(MonitorError::TooFew {
            needed: 2,
            have: n as u64,
        });
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p| quantile(&sorted, p).unwrap_or(mean);
    Ok(BaselineStats {
        n: n as u64,
        mean,
        sd: var.sqrt(),
        q1: q(0.25),
        median: q(0.5),
        q3: q(0.75),
    })
}

impl RegressionParams {
    /// Checks the ranges documented on the fields.
    ///
    /// # Errors
    /// [`MonitorError::BadParams`].
    pub fn validate(&self) -> Result<(), MonitorError> {
        check(self.baseline >= 2, "baseline", "must be at least 2")?;
        check(self.window >= 1, "window", "must be at least 1")?;
        check(
            self.iqr_k > 0.0 && self.iqr_k.is_finite(),
            "iqr_k",
            "must be positive",
        )?;
        check(
            self.z_max > 0.0 && self.z_max.is_finite(),
            "z_max",
            "must be positive",
        )?;
        check(
            (0.0..=1.0).contains(&self.max_outlier_share),
            "max_outlier_share",
            "must be in [0, 1]",
        )
    }
}

/// Runs the monitor over `(seq, value)` pairs in order.
///
/// # Errors
/// [`MonitorError::BadParams`]; [`MonitorError::TooFew`] when there are not
/// more values than the baseline.
pub fn run_values(
    params: &RegressionParams,
    values: &[(Seq, f64)],
) -> Result<RegressionReport, MonitorError> {
    params.validate()?;
    let nb = usize::try_from(params.baseline).unwrap_or(usize::MAX);
    if values.len() <= nb {
        return Err(MonitorError::TooFew {
            needed: params.baseline + 1,
            have: values.len() as u64,
        });
    }
    let (base, rest) = values.split_at(nb);
    let b = baseline_stats(&base.iter().map(|v| v.1).collect::<Vec<_>>())?;
    let iqr = b.q3 - b.q1;
    let (lo, hi) = (b.q1 - params.iqr_k * iqr, b.q3 + params.iqr_k * iqr);
    let w = usize::try_from(params.window).unwrap_or(usize::MAX);
    let mut windows = Vec::new();
    for chunk in rest.chunks(w) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let n = chunk.len() as f64;
        let mean = chunk.iter().map(|v| v.1).sum::<f64>() / n;
        let se = b.sd / n.sqrt();
        let z = if se > 0.0 {
            (mean - b.mean) / se
        } else if mean == b.mean {
            0.0
        } else {
            // No spread in the baseline and a different mean: any shift is
            // infinitely significant; report the largest finite value.
            f64::MAX.copysign(mean - b.mean)
        };
        let outlier_seqs: Vec<Seq> = chunk
            .iter()
            .filter(|v| v.1 < lo || v.1 > hi)
            .map(|v| v.0)
            .collect();
        let outliers = outlier_seqs.len() as u64;
        windows.push(RegressionWindow {
            first: first.0,
            last: last.0,
            n: chunk.len() as u64,
            mean,
            z,
            outliers,
            alarm: z.abs() > params.z_max || outliers as f64 / n > params.max_outlier_share,
            outlier_seqs,
        });
    }
    Ok(RegressionReport {
        baseline: b,
        windows,
        observations: values.len() as u64,
        first: values.first().map_or(Seq(0), |v| v.0),
    })
}

/// Runs the monitor over the verified `decision` and `tool_call` entries of
/// `log` that carry the field.
///
/// # Errors
/// As [`run_values`].
pub fn run(params: &RegressionParams, log: &VerifiedLog) -> Result<RegressionReport, MonitorError> {
    let values: Vec<(Seq, f64)> = log
        .entries()
        .iter()
        .filter_map(|e| {
            let m = match e.body() {
                Body::Decision(d) => &d.metrics,
                Body::ToolCall(t) => &t.metrics,
                _ => return None,
            };
            params.field.get(m).map(|v| (e.seq(), v as f64))
        })
        .collect();
    run_values(params, &values)
}

impl RegressionReport {
    /// The `monitor` entry body: statistic = the window z-score of largest
    /// magnitude (bounded to ±2^53), threshold = `z_max`.
    ///
    /// # Errors
    /// [`MonitorError::TooFew`] without windows; [`MonitorError::Encoding`].
    pub fn to_result(
        &self,
        name: &Code,
        params: &RegressionParams,
    ) -> Result<MonitorResult, MonitorError> {
        let Some(last) = self.windows.last() else {
            return Err(MonitorError::TooFew { needed: 1, have: 0 });
        };
        let bound = crate::encoding::MAX_SAFE_INTEGER as f64;
        let z = self
            .windows
            .iter()
            .map(|w| w.z)
            .fold(0.0, |a: f64, z| if z.abs() > a.abs() { z } else { a })
            .clamp(-bound, bound);
        result(
            MonitorMethod::Regression,
            name,
            super::params_digest(params)?,
            (self.first, last.last),
            self.observations,
            z,
            params.z_max,
            self.windows.iter().any(|w| w.alarm),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published values: for 1..=10, NumPy/R type 7 give Q1 = 3.25,
    /// median 5.5, Q3 = 7.75; mean 5.5; sample sd = sqrt(55/6) = 3.0276504.
    #[test]
    fn baseline_known_answers() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let b = baseline_stats(&v).unwrap();
        assert_eq!((b.q1, b.median, b.q3, b.mean), (3.25, 5.5, 7.75, 5.5));
        assert!((b.sd - (55.0f64 / 6.0).sqrt()).abs() < 1e-12);
        assert!((b.sd - 3.027_650_354_097_491_7).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert!(baseline_stats(&[1.0]).is_err());
    }

    /// Baseline 1..=10 (μ 5.5, s 3.02765), then a window [10, 10, 10, 30]:
    /// mean 15, z = 9.5 / (3.02765 / 2) = 6.275493; fences [−3.5, 14.5]: one outlier (30).
    #[test]
    fn window_z_and_fences_known_answer() {
        let mut vals: Vec<(Seq, f64)> = (1..=10).map(|i| (Seq(i), f64::from(i as u32))).collect();
        for (i, x) in [10.0, 10.0, 10.0, 30.0].into_iter().enumerate() {
            vals.push((Seq(100 + i as u64), x));
        }
        let p = RegressionParams {
            baseline: 10,
            window: 4,
            ..RegressionParams::default()
        };
        let r = run_values(&p, &vals).unwrap();
        let w = &r.windows[0];
        assert_eq!(w.mean, 15.0);
        assert!((w.z - 9.5 / (3.027_650_354_097_491_7 / 2.0)).abs() < 1e-9);
        assert!((w.z - 6.275_493_461).abs() < 1e-6, "{}", w.z);
        assert_eq!((w.outliers, w.outlier_seqs.clone()), (1, vec![Seq(103)]));
        assert!(w.alarm);
        // An unchanged window does not alarm.
        let mut calm = vals[..10].to_vec();
        calm.extend((0..4).map(|i| (Seq(200 + i), [4.0, 6.0, 5.0, 7.0][i as usize])));
        let r = run_values(&p, &calm).unwrap();
        assert!(!r.windows[0].alarm, "{:?}", r.windows[0]);
        assert!(run_values(&p, &vals[..10]).is_err());
        assert!(RegressionParams {
            iqr_k: 0.0,
            ..p.clone()
        }
        .validate()
        .is_err());
        assert!(RegressionParams {
            max_outlier_share: 2.0,
            ..p
        }
        .validate()
        .is_err());
    }
}
