//! Crosswalks from framework controls to log evidence, with coverage
//! measured on verified entries (SPEC §11.3.1).
//!
//! A [`Crosswalk`] is data: frameworks, their controls, and for each control
//! the evidence that supports it, each an [`Evidence`] measure over verified
//! entries. The built-in template ([`Crosswalk::builtin`], from
//! `src/compliance/crosswalk_v1.json`) maps the EU AI Act, ISO/IEC 42001
//! Annex A, the NIST AI RMF 1.0 and the GDPR; it is a **starting template,
//! not legal advice**, and a file in the same format overrides or extends it
//! ([`Crosswalk::merge`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ComplianceError;
use crate::body::Body;
use crate::encoding;
use crate::hash::Hash32;
use crate::id::{Code, EntryId, Seq};
use crate::receipt::Action;
use crate::verified::VerifiedLog;

/// The built-in template's JSON text.
pub const BUILTIN_CROSSWALK: &str = include_str!("crosswalk_v1.json");

/// At most this many evidence pointers (seqs) are listed per evidence item
/// and list (covered / missing); the counts are always complete.
pub const MAX_POINTERS: usize = 20;

/// What to report when an evidence item has nothing in scope.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WhenAbsent {
    /// The item fails (the evidence is required).
    #[default]
    Fail,
    /// The item is not applicable (e.g. no erasure was requested).
    Na,
}

/// What the log must show for a control, measured on verified entries.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "measure", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Evidence {
    /// At least `min_count` (default 1) entries of `kind` exist.
    Present {
        /// Item id within the control.
        id: Code,
        /// Entry kind wire name (an unknown kind counts no entries).
        kind: String,
        /// Entries needed.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        min_count: u64,
        /// Outcome when none exists.
        #[serde(default, skip_serializing_if = "is_fail")]
        absent: WhenAbsent,
        /// What it shows.
        what: String,
    },
    /// At least a share `min` of the entries of `kind` carry body member
    /// `field` (a dotted path, e.g. `model.config`).
    Field {
        /// Item id within the control.
        id: Code,
        /// Entry kind wire name.
        kind: String,
        /// Dotted member path in the body.
        field: String,
        /// Share required, in [0, 1].
        min: f64,
        /// Outcome when there is no entry of `kind`.
        #[serde(default = "na", skip_serializing_if = "is_na")]
        absent: WhenAbsent,
        /// What it shows.
        what: String,
    },
    /// At least a share `min` of the decisions whose action is in `actions`
    /// are the `target` of a later `human_oversight` entry.
    Reviewed {
        /// Item id within the control.
        id: Code,
        /// Actions that need review.
        actions: Vec<Action>,
        /// Share required, in [0, 1].
        min: f64,
        /// Outcome when no decision needs review.
        #[serde(default = "na", skip_serializing_if = "is_na")]
        absent: WhenAbsent,
        /// What it shows.
        what: String,
    },
    /// A property verification established (SPEC §11.1).
    Integrity {
        /// Item id within the control.
        id: Code,
        /// Which property.
        require: IntegrityProperty,
        /// What it shows.
        what: String,
    },
}

fn one() -> u64 {
    1
}
fn is_one(x: &u64) -> bool {
    *x == 1
}
fn na() -> WhenAbsent {
    WhenAbsent::Na
}
fn is_na(x: &WhenAbsent) -> bool {
    *x == WhenAbsent::Na
}
fn is_fail(x: &WhenAbsent) -> bool {
    *x == WhenAbsent::Fail
}

/// A property of a verified log.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IntegrityProperty {
    /// Chain verification passed (always true of a verified log).
    Chain,
    /// At least one signed checkpoint was verified.
    Checkpoints,
    /// Verification started at genesis.
    Genesis,
}

/// One control of a framework.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Evidence items; the control's status combines theirs.
    pub evidence: Vec<Evidence>,
    /// Control id, e.g. `art12`, `a.6.2.8`.
    pub id: Code,
    /// The framework's own reference, e.g. `Art. 12`, `A.6.2.8`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The control's title.
    pub title: String,
}

/// A framework and its controls.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Controls, in order.
    pub controls: Vec<Control>,
    /// Framework id, e.g. `eu_ai_act`.
    pub id: Code,
    /// Title.
    pub title: String,
}

/// A crosswalk template (SPEC §11.3.1).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crosswalk {
    /// Frameworks, in order.
    pub frameworks: Vec<Framework>,
    /// The notice every report shows (starting template, not legal advice).
    pub notice: String,
    /// Template format version, 1.
    pub version: u32,
}

/// A control's status.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Status {
    /// Every applicable evidence item is met.
    Pass,
    /// Some evidence, not all of it met.
    Partial,
    /// Applicable evidence, none of it found.
    Fail,
    /// No evidence item applies.
    #[serde(rename = "N/A")]
    NotApplicable,
}

impl Status {
    /// `PASS`, `PARTIAL`, `FAIL`, `N/A`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Partial => "PARTIAL",
            Status::Fail => "FAIL",
            Status::NotApplicable => "N/A",
        }
    }
}

/// Coverage of one evidence item.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct Coverage {
    /// Item id.
    pub id: Code,
    /// What it shows.
    pub what: String,
    /// Entries in scope.
    pub scope: u64,
    /// Of which covered.
    pub covered: u64,
    /// `covered / scope` (1 or 0 for `present` and `integrity`), absent when N/A.
    pub ratio: Option<f64>,
    /// PASS (met), PARTIAL (some, below the bar), FAIL (none) or N/A.
    pub status: Status,
    /// Seqs of covering entries (at most [`MAX_POINTERS`]).
    pub evidence: Vec<Seq>,
    /// Seqs of in-scope entries not covered (at most [`MAX_POINTERS`]).
    pub missing: Vec<Seq>,
}

/// A control's result.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct ControlResult {
    /// Control id.
    pub id: Code,
    /// Reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Title.
    pub title: String,
    /// Combined status.
    pub status: Status,
    /// Per evidence item.
    pub evidence: Vec<Coverage>,
}

/// A framework's results.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct FrameworkResult {
    /// Framework id.
    pub id: Code,
    /// Title.
    pub title: String,
    /// Per control.
    pub controls: Vec<ControlResult>,
}

/// A crosswalk evaluated on a verified log.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct CrosswalkResult {
    /// The template's notice.
    pub notice: String,
    /// `SHA-256(DIGEST_LABEL || JCS(template))`: which template was used.
    pub template: Hash32,
    /// Per framework.
    pub frameworks: Vec<FrameworkResult>,
}

impl Crosswalk {
    /// The built-in template (EU AI Act, ISO/IEC 42001 Annex A, NIST AI RMF
    /// 1.0, GDPR). A starting template, not legal advice.
    ///
    /// # Errors
    /// Never for the shipped file (a test parses it); kept fallible because
    /// it is parsed like any other.
    pub fn builtin() -> Result<Crosswalk, ComplianceError> {
        Crosswalk::from_json(BUILTIN_CROSSWALK.as_bytes())
    }

    /// Parses a template strictly (duplicate keys, unknown members and
    /// out-of-range values refused).
    ///
    /// # Errors
    /// [`ComplianceError::Template`].
    pub fn from_json(bytes: &[u8]) -> Result<Crosswalk, ComplianceError> {
        let v =
            encoding::parse_strict(bytes).map_err(|e| ComplianceError::Template(e.to_string()))?;
        let c: Crosswalk =
            serde_json::from_value(v).map_err(|e| ComplianceError::Template(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Reads a template from a file and merges it over `self`.
    ///
    /// # Errors
    /// [`ComplianceError::Io`], [`ComplianceError::Template`].
    pub fn merge_file(&mut self, path: &std::path::Path) -> Result<(), ComplianceError> {
        let bytes = std::fs::read(path).map_err(|e| ComplianceError::Io(e.to_string()))?;
        let other = Crosswalk::from_json(&bytes)?;
        self.merge(other);
        Ok(())
    }

    /// Overrides: a framework of `other` with a known id replaces, control by
    /// control, the controls of the same id and appends new ones; an unknown
    /// framework is appended; a non-empty notice replaces the notice.
    pub fn merge(&mut self, other: Crosswalk) {
        if !other.notice.is_empty() {
            self.notice = other.notice;
        }
        for f in other.frameworks {
            match self.frameworks.iter_mut().find(|x| x.id == f.id) {
                Some(mine) => {
                    if !f.title.is_empty() {
                        mine.title = f.title;
                    }
                    for c in f.controls {
                        match mine.controls.iter_mut().find(|x| x.id == c.id) {
                            Some(slot) => *slot = c,
                            None => mine.controls.push(c),
                        }
                    }
                }
                None => self.frameworks.push(f),
            }
        }
    }

    fn validate(&self) -> Result<(), ComplianceError> {
        let bad = |m: String| Err(ComplianceError::Template(m));
        if self.version != 1 {
            return bad(format!(
                "template version {} is not supported",
                self.version
            ));
        }
        let mut fids = std::collections::HashSet::new();
        for f in &self.frameworks {
            if !fids.insert(&f.id) {
                return bad(format!("framework {} appears twice", f.id));
            }
            let mut cids = std::collections::HashSet::new();
            for c in &f.controls {
                if !cids.insert(&c.id) {
                    return bad(format!("control {}/{} appears twice", f.id, c.id));
                }
                if c.evidence.is_empty() {
                    return bad(format!("control {}/{} lists no evidence", f.id, c.id));
                }
                for e in &c.evidence {
                    let min = match e {
                        Evidence::Field { min, .. } | Evidence::Reviewed { min, .. } => *min,
                        _ => 1.0,
                    };
                    if !(0.0..=1.0).contains(&min) {
                        return bad(format!("control {}/{}: min must be in [0, 1]", f.id, c.id));
                    }
                }
            }
        }
        Ok(())
    }

    /// The template digest `SHA-256(DIGEST_LABEL || JCS(template))`.
    ///
    /// # Errors
    /// [`ComplianceError::Encoding`].
    pub fn digest(&self) -> Result<Hash32, ComplianceError> {
        Ok(encoding::labelled_digest(encoding::DIGEST_LABEL, self)?)
    }

    /// Evaluates every control on `log`.
    ///
    /// # Errors
    /// [`ComplianceError::Encoding`] (template digest).
    pub fn evaluate(&self, log: &VerifiedLog) -> Result<CrosswalkResult, ComplianceError> {
        let ctx = Context::new(log, self);
        let frameworks = self
            .frameworks
            .iter()
            .map(|f| FrameworkResult {
                id: f.id.clone(),
                title: f.title.clone(),
                controls: f
                    .controls
                    .iter()
                    .map(|c| {
                        let evidence: Vec<Coverage> =
                            c.evidence.iter().map(|e| ctx.measure(e)).collect();
                        ControlResult {
                            id: c.id.clone(),
                            reference: c.reference.clone(),
                            title: c.title.clone(),
                            status: combine(&evidence),
                            evidence,
                        }
                    })
                    .collect(),
            })
            .collect();
        Ok(CrosswalkResult {
            notice: self.notice.clone(),
            template: self.digest()?,
            frameworks,
        })
    }
}

/// PASS when every applicable item is met; N/A when none applies; FAIL when
/// no applicable item has any covering entry; PARTIAL otherwise.
fn combine(items: &[Coverage]) -> Status {
    let applicable: Vec<&Coverage> = items
        .iter()
        .filter(|c| c.status != Status::NotApplicable)
        .collect();
    if applicable.is_empty() {
        Status::NotApplicable
    } else if applicable.iter().all(|c| c.status == Status::Pass) {
        Status::Pass
    } else if applicable.iter().all(|c| c.status == Status::Fail) {
        Status::Fail
    } else {
        Status::Partial
    }
}

/// One field-presence scan per distinct `(kind, field)` of the template.
type Presence = HashMap<(String, String), Vec<(Seq, bool)>>;

struct Context<'a> {
    log: &'a VerifiedLog,
    presence: Presence,
    /// Entry id -> seqs of human_oversight entries targeting it.
    reviews: HashMap<EntryId, Vec<Seq>>,
}

impl<'a> Context<'a> {
    fn new(log: &'a VerifiedLog, template: &Crosswalk) -> Context<'a> {
        let mut reviews: HashMap<EntryId, Vec<Seq>> = HashMap::new();
        for e in log.entries() {
            if let Body::HumanOversight(h) = e.body() {
                reviews.entry(h.target).or_default().push(e.seq());
            }
        }
        // Each body is parsed once, only if its kind has a field measure.
        let mut fields: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in template
            .frameworks
            .iter()
            .flat_map(|f| &f.controls)
            .flat_map(|c| &c.evidence)
        {
            if let Evidence::Field { kind, field, .. } = e {
                let list = fields.entry(kind.as_str()).or_default();
                if !list.contains(&field.as_str()) {
                    list.push(field.as_str());
                }
            }
        }
        let mut presence = Presence::new();
        for (kind, list) in &fields {
            for f in list {
                presence.insert(((*kind).to_owned(), (*f).to_owned()), Vec::new());
            }
        }
        for e in log.entries() {
            let Some(list) = fields.get(e.kind().as_str()) else {
                continue;
            };
            let value = e.entry().body_value().ok();
            for f in list {
                let has = value.as_ref().is_some_and(|v| has_path(v, f));
                if let Some(slot) =
                    presence.get_mut(&(e.kind().as_str().to_owned(), (*f).to_owned()))
                {
                    slot.push((e.seq(), has));
                }
            }
        }
        Context {
            log,
            presence,
            reviews,
        }
    }

    fn measure(&self, e: &Evidence) -> Coverage {
        let entries = self.log.entries();
        let cov = |id: &Code, what: &str, scope: Vec<(Seq, bool)>, min: f64, absent: WhenAbsent| {
            let covered = scope.iter().filter(|x| x.1).count() as u64;
            let n = scope.len() as u64;
            let (ratio, status) = if n == 0 {
                match absent {
                    WhenAbsent::Na => (None, Status::NotApplicable),
                    WhenAbsent::Fail => (Some(0.0), Status::Fail),
                }
            } else {
                let r = covered as f64 / n as f64;
                let s = if r >= min {
                    Status::Pass
                } else if covered > 0 {
                    Status::Partial
                } else {
                    Status::Fail
                };
                (Some(r), s)
            };
            Coverage {
                id: id.clone(),
                what: what.to_owned(),
                scope: n,
                covered,
                ratio,
                status,
                evidence: scope
                    .iter()
                    .filter(|x| x.1)
                    .map(|x| x.0)
                    .take(MAX_POINTERS)
                    .collect(),
                missing: scope
                    .iter()
                    .filter(|x| !x.1)
                    .map(|x| x.0)
                    .take(MAX_POINTERS)
                    .collect(),
            }
        };
        match e {
            Evidence::Present {
                id,
                kind,
                min_count,
                absent,
                what,
            } => {
                let seqs: Vec<Seq> = entries
                    .iter()
                    .filter(|x| x.kind().as_str() == kind)
                    .map(|x| x.seq())
                    .collect();
                let n = seqs.len() as u64;
                let mut c = cov(
                    id,
                    what,
                    seqs.iter().map(|s| (*s, true)).collect(),
                    1.0,
                    *absent,
                );
                if n > 0 && n < *min_count {
                    c.status = Status::Partial;
                    c.ratio = Some(n as f64 / *min_count as f64);
                }
                c
            }
            Evidence::Field {
                id,
                kind,
                field,
                min,
                absent,
                what,
            } => {
                let scope = self
                    .presence
                    .get(&(kind.clone(), field.clone()))
                    .cloned()
                    .unwrap_or_default();
                cov(id, what, scope, *min, *absent)
            }
            Evidence::Reviewed {
                id,
                actions,
                min,
                absent,
                what,
            } => {
                let scope = entries
                    .iter()
                    .filter_map(|x| match x.body() {
                        Body::Decision(d) if actions.contains(&d.action) => {
                            let reviewed = self
                                .reviews
                                .get(&x.entry().id())
                                .is_some_and(|r| r.iter().any(|s| *s > x.seq()));
                            Some((x.seq(), reviewed))
                        }
                        _ => None,
                    })
                    .collect();
                cov(id, what, scope, *min, *absent)
            }
            Evidence::Integrity { id, require, what } => {
                let i = self.log.integrity();
                let ok = match require {
                    IntegrityProperty::Chain => true,
                    IntegrityProperty::Checkpoints => i.checkpoints > 0,
                    IntegrityProperty::Genesis => i.from_genesis,
                };
                let first = entries.first().map_or(Seq(0), |x| x.seq());
                let last = entries.last().map_or(Seq(0), |x| x.seq());
                let mut c = cov(id, what, vec![(first, ok)], 1.0, WhenAbsent::Fail);
                c.scope = entries.len() as u64;
                c.covered = if ok { c.scope } else { 0 };
                c.evidence = if ok { vec![first, last] } else { vec![] };
                c.missing = if ok { vec![] } else { vec![first, last] };
                c
            }
        }
    }
}

/// True when the dotted `path` names a member present in `v`.
fn has_path(v: &Value, path: &str) -> bool {
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_template_parses_and_refuses_bad_overrides() {
        let c = Crosswalk::builtin().unwrap();
        let ids: Vec<&str> = c.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["eu_ai_act", "iso_iec_42001", "nist_ai_rmf", "gdpr"]);
        assert!(c.notice.contains("not legal advice"));
        for bad in [
            &br#"{"frameworks":[],"notice":"","version":2}"#[..],
            br#"{"frameworks":[],"notice":"","version":1,"x":1}"#,
            br#"{"frameworks":[],"notice":"","notice":"","version":1}"#,
            br#"{"frameworks":[{"controls":[{"evidence":[],"id":"a","ref":"A","title":"t"}],"id":"f","title":"F"}],"notice":"","version":1}"#,
            br#"{"frameworks":[{"controls":[{"evidence":[{"measure":"field","id":"x","kind":"decision","field":"model","min":2,"what":"w"}],"id":"a","ref":"A","title":"t"}],"id":"f","title":"F"}],"notice":"","version":1}"#,
            br#"{"frameworks":[{"controls":[{"evidence":[{"measure":"guess","id":"x","what":"w"}],"id":"a","ref":"A","title":"t"}],"id":"f","title":"F"}],"notice":"","version":1}"#,
        ] {
            assert!(
                matches!(Crosswalk::from_json(bad), Err(ComplianceError::Template(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(has_path(&serde_json::json!({"a":{"b":1}}), "a.b"));
        assert!(!has_path(&serde_json::json!({"a":{"b":1}}), "a.c"));
    }
}
