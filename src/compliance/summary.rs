//! The compliance summary of a verified log (SPEC §11.3.2): what happened
//! (actions, checks, tool calls), who looked (sign-offs), what was refused
//! or redacted (flags, PII stripped), what changed (key rotations, shreds),
//! what the monitors said, and what verification established.
//!
//! Every number is computed from verified entries (SPEC §11.1), in one pass
//! over them: one `match` arm per body kind.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::body::{Body, FlagOutcome, OversightOutcome, ToolStatus};
use crate::clock::Timestamp;
use crate::hash::Hash32;
use crate::id::{Code, EntryId, ExternalId, LogName, Seq, TenantId};
use crate::keys::KeyId;
use crate::monitor::MonitorMethod;
use crate::receipt::{Action, Finite};
use crate::verified::{Integrity, VerifiedLog};

/// At most this many time buckets in [`Summary::timeline`].
pub const MAX_BUCKETS: usize = 24;

/// Count and share of one action among decisions.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct ActionCount {
    /// The action.
    pub action: Action,
    /// Decisions with it.
    pub count: u64,
    /// `count / decisions` (0 without decisions).
    pub share: f64,
}

/// How often one check ran and fired.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct CheckRate {
    /// Check name.
    pub name: Code,
    /// Decisions in which it ran.
    pub ran: u64,
    /// Of which it fired.
    pub fired: u64,
    /// `fired / ran`.
    pub fire_rate: f64,
}

/// Entries of one kind.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct KindCount {
    /// Kind wire name.
    pub kind: String,
    /// Entries.
    pub count: u64,
}

/// Human-oversight counts.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct OversightSummary {
    /// Sign-offs.
    pub signoffs: u64,
    /// Outcome `approve`.
    pub approve: u64,
    /// Outcome `override`.
    #[serde(rename = "override")]
    pub overridden: u64,
    /// Outcome `reject`.
    pub reject: u64,
    /// Outcome `escalate`.
    pub escalate: u64,
    /// Decisions with action `escalate`.
    pub escalations: u64,
    /// Of which the target of a later sign-off.
    pub escalations_reviewed: u64,
    /// Sign-offs whose target is not an earlier entry of this verified log.
    pub unresolved_targets: u64,
}

/// Policy-flag counts.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct FlagSummary {
    /// Flags.
    pub total: u64,
    /// Outcome `blocked` (refusals: recorded although nothing ran).
    pub blocked: u64,
    /// Outcome `flagged`.
    pub flagged: u64,
    /// Outcome `redacted`.
    pub redacted: u64,
}

/// PII stripped before commitment, from the receipts' own `pii` member:
/// the redaction note of every decision, with no extra entry per receipt.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct RedactionSummary {
    /// Decisions from which PII was stripped.
    pub decisions: u64,
    /// Values stripped in total.
    pub values: u64,
    /// Per category, sorted by category.
    pub categories: BTreeMap<String, u64>,
}

/// Provenance records bound into decisions (SPEC §11.5).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ProvenanceSummary {
    /// Decisions with at least one record.
    pub decisions: u64,
    /// Records.
    pub records: u64,
    /// Records per trust level.
    pub by_trust: BTreeMap<String, u64>,
    /// Records per source type.
    pub by_source_type: BTreeMap<String, u64>,
    /// Decisions that used an `untrusted` source.
    pub untrusted_decisions: u64,
    /// Their seqs (at most 20).
    pub untrusted: Vec<Seq>,
}

/// The trace graph rebuilt from the log (SPEC §11.5).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct TraceSummary {
    /// Valid edges.
    pub edges: u64,
    /// Decision groups.
    pub groups: u64,
    /// Invalid references (dangling, forward, self, duplicate), at most 20.
    pub issues: Vec<crate::trace::TraceIssue>,
    /// Number of invalid references.
    pub issue_count: u64,
}

/// Tool-call counts.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ToolSummary {
    /// Calls.
    pub total: u64,
    /// Status `ok`.
    pub ok: u64,
    /// Status `error`.
    pub error: u64,
    /// Status `denied`.
    pub denied: u64,
}

/// A verified key rotation.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct RotationRecord {
    /// Seq of the `key_rotation` entry.
    pub seq: Seq,
    /// Key id of the new key.
    pub new_key: KeyId,
    /// Reason.
    pub reason: Code,
}

/// A recorded monitor result.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct MonitorRecord {
    /// Seq of the `monitor` entry.
    pub seq: Seq,
    /// Name.
    pub monitor: Code,
    /// Method.
    pub method: MonitorMethod,
    /// Alarm.
    pub alarm: bool,
    /// Statistic.
    pub statistic: Finite,
    /// Threshold.
    pub threshold: Finite,
    /// Seqs read.
    pub first: Seq,
    /// Seqs read.
    pub last: Seq,
}

/// A recorded behavioural-contract evaluation.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct ContractRecord {
    /// Seq of the `contract` entry.
    pub seq: Seq,
    /// Contract name.
    pub name: Code,
    /// Contract digest.
    pub contract: Hash32,
    /// Hard-compliance share p.
    pub p: Finite,
    /// Soft-violation share δ.
    pub delta: Finite,
    /// Longest soft-violation run k.
    pub k: u64,
    /// Reliability index Θ.
    pub reliability: Finite,
    /// Requirements met.
    pub passed: bool,
}

/// A human-oversight sign-off.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct SignoffRecord {
    /// Seq of the sign-off.
    pub seq: Seq,
    /// Reviewer (pseudonymous id).
    pub reviewer: ExternalId,
    /// Outcome.
    pub outcome: OversightOutcome,
    /// Seq of the reviewed entry, when it is an earlier entry of this log.
    pub target: Option<Seq>,
    /// The note (producer-stripped free text; rendered escaped).
    pub note: Option<String>,
}

/// Decisions per action in one time bucket.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct TimeBucket {
    /// Start (inclusive).
    pub start: Timestamp,
    /// Counts in the order of SPEC §4.1 (`allow`, `reject`, `escalate`,
    /// `fail_retry`, `cache_hit`, `bypass`, `modify`).
    pub counts: [u64; 7],
}

/// The summary (SPEC §11.3.2).
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Log name.
    pub log: LogName,
    /// Tenant.
    pub tenant: TenantId,
    /// First seq analysed.
    pub first: Seq,
    /// Last seq analysed.
    pub last: Seq,
    /// Entry hash of the last entry: the exact log state summarised.
    pub last_hash: Hash32,
    /// Time of the first entry.
    pub from: Timestamp,
    /// Time of the last entry.
    pub to: Timestamp,
    /// Entries analysed.
    pub entries: u64,
    /// Entries per kind, by kind name.
    pub kinds: Vec<KindCount>,
    /// Decisions.
    pub decisions: u64,
    /// Every action, in SPEC order.
    pub actions: Vec<ActionCount>,
    /// Per check name, sorted.
    pub checks: Vec<CheckRate>,
    /// Tool calls.
    pub tool_calls: ToolSummary,
    /// Human oversight.
    pub oversight: OversightSummary,
    /// Policy flags.
    pub flags: FlagSummary,
    /// PII stripped.
    pub redactions: RedactionSummary,
    /// Provenance records.
    pub provenance: ProvenanceSummary,
    /// The trace graph.
    pub trace: TraceSummary,
    /// Shred tombstones (entries of kind `shred`).
    pub shreds: u64,
    /// Of which of scope `subject` (a data subject's key: GDPR Art. 17).
    pub subject_shreds: u64,
    /// Seqs of the shred tombstones (at most 20).
    pub shred_seqs: Vec<Seq>,
    /// Verified key rotations.
    pub key_rotations: Vec<RotationRecord>,
    /// Recorded monitor results.
    pub monitors: Vec<MonitorRecord>,
    /// Recorded contract evaluations.
    pub contracts: Vec<ContractRecord>,
    /// Sign-offs, in seq order.
    pub signoffs: Vec<SignoffRecord>,
    /// What verification established.
    pub integrity: Integrity,
    /// Decisions per action over time.
    pub timeline: Vec<TimeBucket>,
    /// Width of each bucket, in microseconds.
    pub bucket_micros: u64,
}

/// The wire name of a unit enum value.
fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn share(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn action_index(a: Action) -> usize {
    Action::ALL.iter().position(|x| *x == a).unwrap_or(0)
}

impl Summary {
    /// The counters of the report's oversight, flags and redactions table,
    /// labelled, in report order (one list for the Markdown and HTML
    /// renderings).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let s = self;
        vec![
            ("sign-offs", s.oversight.signoffs),
            ("approve", s.oversight.approve),
            ("override", s.oversight.overridden),
            ("reject", s.oversight.reject),
            ("escalate", s.oversight.escalate),
            ("escalated decisions", s.oversight.escalations),
            (
                "escalated decisions reviewed",
                s.oversight.escalations_reviewed,
            ),
            (
                "sign-offs with unresolved target",
                s.oversight.unresolved_targets,
            ),
            ("policy flags", s.flags.total),
            ("blocked (refusals)", s.flags.blocked),
            ("flagged", s.flags.flagged),
            ("redacted", s.flags.redacted),
            ("decisions with PII stripped", s.redactions.decisions),
            ("PII values stripped", s.redactions.values),
            ("tool calls", s.tool_calls.total),
            ("tool calls denied", s.tool_calls.denied),
            ("shreds", s.shreds),
            ("of which data-subject shreds", s.subject_shreds),
            ("decisions with provenance", s.provenance.decisions),
            ("provenance records", s.provenance.records),
            (
                "decisions using untrusted sources",
                s.provenance.untrusted_decisions,
            ),
            ("trace edges", s.trace.edges),
            ("decision groups", s.trace.groups),
            ("invalid trace references", s.trace.issue_count),
            ("key rotations", s.key_rotations.len() as u64),
        ]
    }

    /// Summarises `log`.
    pub fn of(log: &VerifiedLog) -> Summary {
        let entries = log.entries();
        let seq_of: HashMap<EntryId, Seq> =
            entries.iter().map(|e| (e.entry().id(), e.seq())).collect();
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut actions = [0u64; 7];
        let mut checks: BTreeMap<Code, (u64, u64)> = BTreeMap::new();
        let mut tool_calls = ToolSummary::default();
        let mut oversight = OversightSummary::default();
        let mut flags = FlagSummary::default();
        let mut redactions = RedactionSummary::default();
        let mut provenance = ProvenanceSummary::default();
        let mut key_rotations = Vec::new();
        let mut monitors = Vec::new();
        let mut contracts = Vec::new();
        let (mut subject_shreds, mut shred_seqs) = (0u64, Vec::new());
        let mut signoffs = Vec::new();
        let mut escalations: Vec<(EntryId, Seq)> = Vec::new();
        let mut reviewed: HashMap<EntryId, Seq> = HashMap::new();
        let mut decision_times: Vec<(Timestamp, usize)> = Vec::new();
        for e in entries {
            *kinds.entry(e.kind().as_str().to_owned()).or_default() += 1;
            match e.body() {
                Body::Decision(d) => {
                    let i = action_index(d.action);
                    actions[i] += 1;
                    decision_times.push((e.entry().ts(), i));
                    if d.action == Action::Escalate {
                        escalations.push((e.entry().id(), e.seq()));
                    }
                    for c in &d.checks {
                        let slot = checks.entry(c.name.clone()).or_default();
                        slot.0 += 1;
                        slot.1 += u64::from(c.fired);
                    }
                    if !d.provenance.is_empty() {
                        provenance.decisions += 1;
                        let mut untrusted = false;
                        for p in &d.provenance {
                            provenance.records += 1;
                            *provenance.by_trust.entry(wire(&p.trust)).or_default() += 1;
                            *provenance
                                .by_source_type
                                .entry(wire(&p.source_type))
                                .or_default() += 1;
                            untrusted |= p.trust == crate::provenance::TrustLevel::Untrusted;
                        }
                        if untrusted {
                            provenance.untrusted_decisions += 1;
                            if provenance.untrusted.len() < 20 {
                                provenance.untrusted.push(e.seq());
                            }
                        }
                    }
                    if !d.pii.is_empty() {
                        redactions.decisions += 1;
                        for p in &d.pii {
                            redactions.values += u64::from(p.count);
                            *redactions.categories.entry(p.category.clone()).or_default() +=
                                u64::from(p.count);
                        }
                    }
                }
                Body::ToolCall(t) => {
                    tool_calls.total += 1;
                    match t.status {
                        ToolStatus::Ok => tool_calls.ok += 1,
                        ToolStatus::Error => tool_calls.error += 1,
                        ToolStatus::Denied => tool_calls.denied += 1,
                    }
                }
                Body::HumanOversight(h) => {
                    oversight.signoffs += 1;
                    match h.outcome {
                        OversightOutcome::Approve => oversight.approve += 1,
                        OversightOutcome::Override => oversight.overridden += 1,
                        OversightOutcome::Reject => oversight.reject += 1,
                        OversightOutcome::Escalate => oversight.escalate += 1,
                    }
                    let target = seq_of.get(&h.target).copied().filter(|s| *s < e.seq());
                    if target.is_none() {
                        oversight.unresolved_targets += 1;
                    }
                    reviewed.entry(h.target).or_insert(e.seq());
                    signoffs.push(SignoffRecord {
                        seq: e.seq(),
                        reviewer: h.reviewer.clone(),
                        outcome: h.outcome,
                        target,
                        note: h.note.clone(),
                    });
                }
                Body::PolicyFlag(f) => {
                    flags.total += 1;
                    match f.outcome {
                        FlagOutcome::Blocked => flags.blocked += 1,
                        FlagOutcome::Flagged => flags.flagged += 1,
                        FlagOutcome::Redacted => flags.redacted += 1,
                    }
                }
                Body::KeyRotation(k) => key_rotations.push(RotationRecord {
                    seq: e.seq(),
                    new_key: k.new_key.id(),
                    reason: k.reason.clone(),
                }),
                Body::Monitor(m) => monitors.push(MonitorRecord {
                    seq: e.seq(),
                    monitor: m.monitor.clone(),
                    method: m.method,
                    alarm: m.alarm,
                    statistic: m.statistic,
                    threshold: m.threshold,
                    first: m.first,
                    last: m.last,
                }),
                Body::Contract(c) => contracts.push(ContractRecord {
                    seq: e.seq(),
                    name: c.name.clone(),
                    contract: c.contract,
                    p: c.p,
                    delta: c.delta,
                    k: c.k,
                    reliability: c.reliability,
                    passed: c.passed,
                }),
                Body::Shred(s) => {
                    if s.scope == crate::shred::ShredScope::Subject {
                        subject_shreds += 1;
                    }
                    if shred_seqs.len() < 20 {
                        shred_seqs.push(e.seq());
                    }
                }
                // Kinds that are only counted (by kind name, above).
                _ => {}
            }
        }
        oversight.escalations = escalations.len() as u64;
        oversight.escalations_reviewed = escalations
            .iter()
            .filter(|(id, seq)| reviewed.get(id).is_some_and(|r| r > seq))
            .count() as u64;
        let decisions: u64 = actions.iter().sum();
        let graph = crate::trace::TraceGraph::build(log);
        let trace = TraceSummary {
            edges: graph.edges.len() as u64,
            groups: graph.groups.len() as u64,
            issue_count: graph.issues.len() as u64,
            issues: graph.issues.into_iter().take(20).collect(),
        };
        let (timeline, bucket_micros) = timeline(&decision_times);
        let first = entries.first();
        let last = entries.last();
        Summary {
            log: log.log().clone(),
            tenant: log.tenant().clone(),
            first: first.map_or(Seq(0), |e| e.seq()),
            last: last.map_or(Seq(0), |e| e.seq()),
            last_hash: last.map_or(Hash32::ZERO, |e| *e.entry().hash()),
            from: first.map_or(Timestamp::EPOCH, |e| e.entry().ts()),
            to: last.map_or(Timestamp::EPOCH, |e| e.entry().ts()),
            entries: entries.len() as u64,
            shreds: kinds.get("shred").copied().unwrap_or(0),
            subject_shreds,
            shred_seqs,
            kinds: kinds
                .into_iter()
                .map(|(kind, count)| KindCount { kind, count })
                .collect(),
            decisions,
            actions: Action::ALL
                .iter()
                .zip(actions)
                .map(|(a, count)| ActionCount {
                    action: *a,
                    count,
                    share: share(count, decisions),
                })
                .collect(),
            checks: checks
                .into_iter()
                .map(|(name, (ran, fired))| CheckRate {
                    name,
                    ran,
                    fired,
                    fire_rate: share(fired, ran),
                })
                .collect(),
            tool_calls,
            oversight,
            flags,
            redactions,
            provenance,
            trace,
            key_rotations,
            monitors,
            contracts,
            signoffs,
            integrity: log.integrity().clone(),
            timeline,
            bucket_micros,
        }
    }
}

/// Up to [`MAX_BUCKETS`] equal buckets from the first to the last decision
/// time: width `w = max(1, ceil((t_last − t_first + 1) / B))` µs with
/// `B = min(MAX_BUCKETS, decisions)`; a decision at `t` falls in bucket
/// `min((t − t_first) / w, B − 1)` (times that step back count in bucket 0).
fn timeline(times: &[(Timestamp, usize)]) -> (Vec<TimeBucket>, u64) {
    let Some(t0) = times.iter().map(|t| t.0.unix_micros()).min() else {
        return (Vec::new(), 0);
    };
    let t1 = times.iter().map(|t| t.0.unix_micros()).max().unwrap_or(t0);
    let b = times.len().min(MAX_BUCKETS) as i64;
    let span = t1 - t0 + 1;
    let w = ((span + b - 1) / b).max(1);
    let mut buckets: Vec<TimeBucket> = (0..b)
        .map(|i| TimeBucket {
            start: Timestamp::from_unix_micros(t0 + i * w).unwrap_or(Timestamp::EPOCH),
            counts: [0; 7],
        })
        .collect();
    for (t, a) in times {
        let i = ((t.unix_micros() - t0) / w).clamp(0, b - 1) as usize;
        if let Some(bucket) = buckets.get_mut(i) {
            bucket.counts[*a] += 1;
        }
    }
    (buckets, w as u64)
}
