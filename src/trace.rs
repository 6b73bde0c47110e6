//! Trace graphs rebuilt from verified entries (SPEC §11.5): a DAG whose
//! edges are the `parents` of `decision` and `tool_call` entries (several
//! per entry allowed) and the `target` of `human_oversight` and
//! `policy_flag` entries, plus decision groups.
//!
//! Every edge must point to an entry with a *lower* `seq` of the same
//! verified log; that is what makes the graph acyclic, and the rebuild
//! checks it: a reference to a later entry or to itself is a
//! [`TraceProblem::Forward`] / [`TraceProblem::SelfReference`] issue, a
//! reference to an entry not in the log a [`TraceProblem::Dangling`] one (it
//! may lie outside a partial disclosure), the same parent twice a
//! [`TraceProblem::Duplicate`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::body::{Body, EntryKind};
use crate::id::{EntryId, ExternalId, Seq};
use crate::receipt::Action;
use crate::verified::VerifiedLog;

/// Why an edge is an edge.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EdgeKind {
    /// A `parents` reference.
    Parent,
    /// A `human_oversight` entry's `target`.
    Review,
    /// A `policy_flag` entry's `target`.
    Flag,
}

/// An edge from an entry to an earlier one it references.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct Edge {
    /// The referencing entry.
    pub from: Seq,
    /// The referenced entry (lower seq).
    pub to: Seq,
    /// Why.
    pub kind: EdgeKind,
}

/// What is wrong with a reference.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TraceProblem {
    /// No entry of the verified log has this id.
    Dangling,
    /// The referenced entry comes later in the chain.
    Forward,
    /// The entry references itself.
    SelfReference,
    /// The same parent is listed twice.
    Duplicate,
}

/// A reference that is not a valid edge.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, schemars::JsonSchema)]
pub struct TraceIssue {
    /// The referencing entry.
    pub seq: Seq,
    /// The id it references.
    pub reference: EntryId,
    /// Which reference.
    pub kind: EdgeKind,
    /// What is wrong.
    pub problem: TraceProblem,
}

/// A group of entries that belong together: connected by edges or sharing
/// a trace id.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct DecisionGroup {
    /// Member seqs, ascending.
    pub seqs: Vec<Seq>,
    /// Trace ids found in the group, sorted.
    pub trace_ids: Vec<ExternalId>,
    /// Members without outgoing edges (where the group starts).
    pub roots: Vec<Seq>,
    /// Decisions in the group.
    pub decisions: u64,
    /// Tool calls in the group.
    pub tool_calls: u64,
    /// Sign-offs in the group.
    pub signoffs: u64,
    /// Policy flags in the group.
    pub flags: u64,
    /// The action of the group's last decision, if any.
    pub final_action: Option<Action>,
}

/// The rebuilt graph.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct TraceGraph {
    /// Valid edges, by `from` then `to`.
    pub edges: Vec<Edge>,
    /// Invalid references.
    pub issues: Vec<TraceIssue>,
    /// Groups with at least two members or a trace id, by first seq.
    pub groups: Vec<DecisionGroup>,
}

fn references(body: &Body) -> (Vec<EntryId>, EdgeKind, Option<&ExternalId>) {
    match body {
        Body::Decision(d) => (d.parents.clone(), EdgeKind::Parent, d.trace_id.as_ref()),
        Body::ToolCall(t) => (t.parents.clone(), EdgeKind::Parent, t.trace_id.as_ref()),
        Body::HumanOversight(h) => (vec![h.target], EdgeKind::Review, h.trace_id.as_ref()),
        Body::PolicyFlag(f) => (
            f.target.iter().copied().collect(),
            EdgeKind::Flag,
            f.trace_id.as_ref(),
        ),
        _ => (Vec::new(), EdgeKind::Parent, None),
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

impl TraceGraph {
    /// Rebuilds the graph of `log`.
    pub fn build(log: &VerifiedLog) -> TraceGraph {
        let entries = log.entries();
        let index: HashMap<EntryId, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.entry().id(), i))
            .collect();
        let mut uf: Vec<usize> = (0..entries.len()).collect();
        let mut edges = Vec::new();
        let mut issues = Vec::new();
        let mut outgoing = vec![false; entries.len()];
        let mut by_trace: HashMap<&ExternalId, usize> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let (refs, kind, trace) = references(e.body());
            let mut seen = BTreeSet::new();
            for r in refs {
                let issue = |problem| TraceIssue {
                    seq: e.seq(),
                    reference: r,
                    kind,
                    problem,
                };
                if !seen.insert(r) {
                    issues.push(issue(TraceProblem::Duplicate));
                    continue;
                }
                match index.get(&r) {
                    None => issues.push(issue(TraceProblem::Dangling)),
                    Some(&j) if j == i => issues.push(issue(TraceProblem::SelfReference)),
                    Some(&j) if j > i => issues.push(issue(TraceProblem::Forward)),
                    Some(&j) => {
                        edges.push(Edge {
                            from: e.seq(),
                            to: entries[j].seq(),
                            kind,
                        });
                        outgoing[i] = true;
                        let (a, b) = (find(&mut uf, i), find(&mut uf, j));
                        uf[a] = b;
                    }
                }
            }
            if let Some(t) = trace {
                match by_trace.get(t) {
                    Some(&j) => {
                        let (a, b) = (find(&mut uf, i), find(&mut uf, j));
                        uf[a] = b;
                    }
                    None => {
                        by_trace.insert(t, i);
                    }
                }
            }
        }
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..entries.len() {
            let r = find(&mut uf, i);
            members.entry(r).or_default().push(i);
        }
        let mut groups: Vec<DecisionGroup> = members
            .into_values()
            .filter_map(|m| {
                let mut traces = BTreeSet::new();
                let mut g = DecisionGroup {
                    seqs: Vec::with_capacity(m.len()),
                    trace_ids: Vec::new(),
                    roots: Vec::new(),
                    decisions: 0,
                    tool_calls: 0,
                    signoffs: 0,
                    flags: 0,
                    final_action: None,
                };
                for &i in &m {
                    let e = &entries[i];
                    g.seqs.push(e.seq());
                    if !outgoing[i] {
                        g.roots.push(e.seq());
                    }
                    if let Some(t) = references(e.body()).2 {
                        traces.insert(t.clone());
                    }
                    match e.kind() {
                        EntryKind::Decision => {
                            g.decisions += 1;
                            if let Body::Decision(d) = e.body() {
                                g.final_action = Some(d.action);
                            }
                        }
                        EntryKind::ToolCall => g.tool_calls += 1,
                        EntryKind::HumanOversight => g.signoffs += 1,
                        EntryKind::PolicyFlag => g.flags += 1,
                        _ => {}
                    }
                }
                g.trace_ids = traces.into_iter().collect();
                (m.len() > 1 || !g.trace_ids.is_empty()).then_some(g)
            })
            .collect();
        groups.sort_by_key(|g| g.seqs.first().copied());
        edges.sort_by_key(|e| (e.from, e.to));
        TraceGraph {
            edges,
            issues,
            groups,
        }
    }

    /// True when every reference resolved to an earlier entry.
    pub fn is_sound(&self) -> bool {
        self.issues.is_empty()
    }

    /// Seqs of every entry `seq` depends on, transitively, ascending.
    pub fn ancestors(&self, seq: Seq) -> Vec<Seq> {
        let mut out = BTreeSet::new();
        let mut stack = vec![seq];
        while let Some(s) = stack.pop() {
            for e in self
                .edges
                .iter()
                .filter(|e| e.from == s && e.kind == EdgeKind::Parent)
            {
                if out.insert(e.to) {
                    stack.push(e.to);
                }
            }
        }
        out.into_iter().collect()
    }

    /// The group holding `seq`, if it is in one.
    pub fn group_of(&self, seq: Seq) -> Option<&DecisionGroup> {
        self.groups
            .iter()
            .find(|g| g.seqs.binary_search(&seq).is_ok())
    }
}
