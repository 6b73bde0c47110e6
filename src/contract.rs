//! Behavioural contracts: hard and soft constraints over entry fields,
//! evaluated on verified entries (SPEC §11.4).
//!
//! A [`Contract`] is data (JSON, parsed strictly). Evaluating it over a
//! [`VerifiedLog`] gives, over the *steps* (entries of a kind that some
//! constraint addresses), in `seq` order:
//! - `p`: the share of steps that satisfy every hard constraint;
//! - `δ` (`delta`): the share of steps that break at least one soft constraint;
//! - `k`: the longest run of consecutive steps breaking a soft constraint
//!   (how many steps the system took to recover);
//! - the reliability index `Θ = p · (1 − δ) · min(1, k_max / k)` (1 for k = 0);
//! - `passed`: `p ≥ p_min`, `δ ≤ delta_max` and `k ≤ k_max`.
//!
//! The result is written back as a `contract` entry ([`ContractResult`])
//! holding `SHA-256(CONTRACT_LABEL || JCS(contract))`, so the log proves which
//! contract was evaluated.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::encoding::{self, EncodingError, CONTRACT_LABEL};
use crate::hash::Hash32;
use crate::id::{Code, Seq};
use crate::receipt::Finite;
use crate::verified::VerifiedLog;

/// At most this many violating seqs are listed per constraint.
pub const MAX_VIOLATIONS_LISTED: usize = 20;

/// Errors of contracts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The contract is not valid.
    #[error("contract: {0}")]
    Invalid(String),
    /// No verified entry is a step of the contract.
    #[error("no entry of the kinds the contract constrains")]
    NoSteps,
    /// A value could not be canonically encoded.
    #[error("contract encoding: {0}")]
    Encoding(#[from] EncodingError),
}

/// Hard constraints must always hold; soft ones may lapse within bounds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Counts into `p`.
    Hard,
    /// Counts into `δ` and `k`.
    Soft,
}

/// A comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Equal (numbers compared as numbers).
    Eq,
    /// Not equal.
    Ne,
    /// Less than (numbers only).
    Lt,
    /// At most (numbers only).
    Le,
    /// Greater than (numbers only).
    Gt,
    /// At least (numbers only).
    Ge,
    /// Equal to one element of the array `value`.
    In,
    /// The member exists (`value` omitted).
    Present,
    /// The member does not exist (`value` omitted).
    Absent,
}

/// One constraint over entries of `kind`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// Dotted member path in the body, e.g. `metrics.latency_ms`.
    pub field: String,
    /// Constraint id, unique in the contract.
    pub id: Code,
    /// Entry kind wire name.
    pub kind: String,
    /// Comparison.
    pub op: Op,
    /// Hard or soft.
    pub severity: Severity,
    /// The operand (omitted for `present` / `absent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Bounds the evaluation is judged against.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Largest soft-violation share, in [0, 1].
    pub delta_max: f64,
    /// Longest soft-violation run.
    pub k_max: u64,
    /// Smallest hard-compliance share, in [0, 1].
    pub p_min: f64,
}

/// A behavioural contract (SPEC §11.4).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Constraints, at least one.
    pub constraints: Vec<Constraint>,
    /// Name.
    pub name: Code,
    /// Bounds.
    pub requirements: Requirements,
    /// Contract format version, 1.
    pub version: u32,
}

/// Body of a `contract` entry: one evaluation of a contract over verified
/// entries `first..=last` (SPEC §4.1, §11.4).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractResult {
    /// `SHA-256(CONTRACT_LABEL || JCS(contract))`.
    pub contract: Hash32,
    /// Soft-violation share δ.
    pub delta: Finite,
    /// Seq of the first step.
    pub first: Seq,
    /// Steps breaking a hard constraint.
    pub hard_violations: u64,
    /// Longest run of soft-violating steps.
    pub k: u64,
    /// Seq of the last step.
    pub last: Seq,
    /// The contract's name.
    pub name: Code,
    /// Hard-compliance share p.
    pub p: Finite,
    /// Whether the requirements were met.
    pub passed: bool,
    /// Reliability index Θ.
    pub reliability: Finite,
    /// Steps breaking a soft constraint.
    pub soft_violations: u64,
    /// Steps evaluated.
    pub steps: u64,
}

/// Violations of one constraint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ConstraintViolations {
    /// Constraint id.
    pub id: Code,
    /// Steps it applied to.
    pub applied: u64,
    /// Steps that broke it.
    pub violations: u64,
    /// Their seqs (at most [`MAX_VIOLATIONS_LISTED`]).
    pub seqs: Vec<Seq>,
}

/// A contract evaluation with per-constraint detail.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Evaluation {
    /// The `contract` entry body.
    pub result: ContractResult,
    /// Per constraint, in contract order.
    pub constraints: Vec<ConstraintViolations>,
}

impl Contract {
    /// Parses and validates a contract strictly.
    ///
    /// # Errors
    /// [`ContractError::Invalid`].
    pub fn from_json(bytes: &[u8]) -> Result<Contract, ContractError> {
        let v = encoding::parse_strict(bytes).map_err(|e| ContractError::Invalid(e.to_string()))?;
        let c: Contract =
            serde_json::from_value(v).map_err(|e| ContractError::Invalid(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Checks the rules of SPEC §11.4.
    ///
    /// # Errors
    /// [`ContractError::Invalid`] naming the rule.
    pub fn validate(&self) -> Result<(), ContractError> {
        let bad = |m: String| Err(ContractError::Invalid(m));
        if self.version != 1 {
            return bad(format!("version {} is not supported", self.version));
        }
        if self.constraints.is_empty() {
            return bad("lists no constraint".into());
        }
        let r = &self.requirements;
        if !(0.0..=1.0).contains(&r.p_min) || !(0.0..=1.0).contains(&r.delta_max) {
            return bad("p_min and delta_max must be in [0, 1]".into());
        }
        let mut ids = std::collections::HashSet::new();
        for c in &self.constraints {
            if !ids.insert(&c.id) {
                return bad(format!("constraint {} appears twice", c.id));
            }
            if c.field.is_empty() || c.field.split('.').any(str::is_empty) {
                return bad(format!(
                    "constraint {}: field must be a dotted member path",
                    c.id
                ));
            }
            let needs = !matches!(c.op, Op::Present | Op::Absent);
            match (&c.value, needs) {
                (None, true) => return bad(format!("constraint {}: value is required", c.id)),
                (Some(_), false) => {
                    return bad(format!("constraint {}: present/absent take no value", c.id))
                }
                (Some(v), true) => {
                    let ok = match c.op {
                        Op::Lt | Op::Le | Op::Gt | Op::Ge => v.is_number(),
                        Op::In => v.is_array(),
                        _ => true,
                    };
                    if !ok {
                        return bad(format!(
                            "constraint {}: value has the wrong type for its op",
                            c.id
                        ));
                    }
                }
                (None, false) => {}
            }
        }
        encoding::to_canonical(self)?;
        Ok(())
    }

    /// `SHA-256(CONTRACT_LABEL || JCS(contract))`.
    ///
    /// # Errors
    /// [`ContractError::Encoding`].
    pub fn digest(&self) -> Result<Hash32, ContractError> {
        Ok(encoding::labelled_digest(CONTRACT_LABEL, self)?)
    }

    /// Evaluates the contract over `log`.
    ///
    /// # Errors
    /// [`ContractError::Invalid`], [`ContractError::NoSteps`],
    /// [`ContractError::Encoding`].
    pub fn evaluate(&self, log: &VerifiedLog) -> Result<Evaluation, ContractError> {
        self.validate()?;
        let mut per: Vec<ConstraintViolations> = self
            .constraints
            .iter()
            .map(|c| ConstraintViolations {
                id: c.id.clone(),
                applied: 0,
                violations: 0,
                seqs: Vec::new(),
            })
            .collect();
        let (mut steps, mut hard, mut soft, mut run, mut k) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let (mut first, mut last) = (None, Seq(0));
        for e in log.entries() {
            let kind = e.kind().as_str();
            if !self.constraints.iter().any(|c| c.kind == kind) {
                continue;
            }
            let body = e
                .entry()
                .body_value()
                .map_err(|x| ContractError::Invalid(x.to_string()))?;
            steps += 1;
            first.get_or_insert(e.seq());
            last = e.seq();
            let (mut hard_ok, mut soft_ok) = (true, true);
            for (c, slot) in self.constraints.iter().zip(per.iter_mut()) {
                if c.kind != kind {
                    continue;
                }
                slot.applied += 1;
                if !holds(c, &body) {
                    slot.violations += 1;
                    if slot.seqs.len() < MAX_VIOLATIONS_LISTED {
                        slot.seqs.push(e.seq());
                    }
                    match c.severity {
                        Severity::Hard => hard_ok = false,
                        Severity::Soft => soft_ok = false,
                    }
                }
            }
            hard += u64::from(!hard_ok);
            if soft_ok {
                run = 0;
            } else {
                soft += 1;
                run += 1;
                k = k.max(run);
            }
        }
        let first = first.ok_or(ContractError::NoSteps)?;
        let n = steps as f64;
        let p = (steps - hard) as f64 / n;
        let delta = soft as f64 / n;
        let r = &self.requirements;
        let recovery = if k <= r.k_max {
            1.0
        } else {
            r.k_max as f64 / k as f64
        };
        let theta = p * (1.0 - delta) * recovery;
        Ok(Evaluation {
            result: ContractResult {
                contract: self.digest()?,
                delta: Finite::new(delta)?,
                first,
                hard_violations: hard,
                k,
                last,
                name: self.name.clone(),
                p: Finite::new(p)?,
                passed: p >= r.p_min && delta <= r.delta_max && k <= r.k_max,
                reliability: Finite::new(theta)?,
                soft_violations: soft,
                steps,
            },
            constraints: per,
        })
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, part| cur.get(part))
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// Whether `c` holds on the body value `body` (SPEC §11.4): a missing member
/// breaks every comparison except `absent`; ordered comparisons need numbers.
fn holds(c: &Constraint, body: &Value) -> bool {
    let got = lookup(body, &c.field);
    match (c.op, got, &c.value) {
        (Op::Present, g, _) => g.is_some(),
        (Op::Absent, g, _) => g.is_none(),
        (_, None, _) | (_, _, None) => false,
        (Op::Eq, Some(g), Some(v)) => json_eq(g, v),
        (Op::Ne, Some(g), Some(v)) => !json_eq(g, v),
        (Op::In, Some(g), Some(Value::Array(vs))) => vs.iter().any(|v| json_eq(g, v)),
        (Op::In, _, _) => false,
        (op, Some(g), Some(v)) => match (g.as_f64(), v.as_f64()) {
            (Some(x), Some(y)) => match op {
                Op::Lt => x < y,
                Op::Le => x <= y,
                Op::Gt => x > y,
                _ => x >= y,
            },
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(op: Op, value: Option<Value>) -> Constraint {
        Constraint {
            field: "metrics.latency_ms".into(),
            id: Code::new("c").unwrap_or_else(|_| unreachable!()),
            kind: "decision".into(),
            op,
            severity: Severity::Hard,
            value,
        }
    }

    #[test]
    fn comparisons() {
        let b = json!({"metrics": {"latency_ms": 120}, "action": "allow"});
        assert!(holds(&c(Op::Le, Some(json!(120))), &b));
        assert!(!holds(&c(Op::Lt, Some(json!(120))), &b));
        assert!(holds(&c(Op::Gt, Some(json!(119.5))), &b));
        assert!(holds(&c(Op::Eq, Some(json!(120.0))), &b));
        assert!(holds(&c(Op::In, Some(json!([1, 120]))), &b));
        assert!(holds(&c(Op::Present, None), &b));
        assert!(!holds(&c(Op::Absent, None), &b));
        assert!(!holds(
            &c(Op::Le, Some(json!(1000))),
            &json!({"action": "allow"})
        ));
        assert!(holds(&c(Op::Absent, None), &json!({"action": "allow"})));
        let s = Constraint {
            field: "action".into(),
            ..c(Op::Ne, Some(json!("reject")))
        };
        assert!(holds(&s, &b));
        let s = Constraint {
            field: "action".into(),
            ..c(Op::Ge, Some(json!(1)))
        };
        assert!(!holds(&s, &b), "a string is never >= a number");
    }
}
