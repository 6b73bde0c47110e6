//! Markdown rendering of a [`ComplianceReport`] (SPEC §11.3.3).

use std::fmt::Write as _;

use super::report::ComplianceReport;
use crate::receipt::Action;

/// Escapes text for a Markdown table cell or line: HTML is neutralised
/// (`&`, `<`, `>` as entities), Markdown punctuation is backslash-escaped,
/// line breaks become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

pub(crate) fn render(r: &ComplianceReport) -> String {
    let s = &r.summary;
    let e = escape;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Compliance report: {} / {}\n",
        e(s.log.as_str()),
        e(s.tenant.as_str())
    );
    let _ = writeln!(o, "> {}\n", e(&r.notice));
    let _ = writeln!(
        o,
        "Entries seq {}–{} ({} entries), {} to {}; last entry hash `{}`.\n",
        s.first, s.last, s.entries, s.from, s.to, s.last_hash
    );
    let i = &s.integrity;
    let _ = writeln!(o, "## Integrity (as verified)\n");
    let _ = writeln!(o, "| property | value |\n|---|---|");
    let _ = writeln!(o, "| chain verified | yes |");
    let _ = writeln!(o, "| signed checkpoints verified | {} |", i.checkpoints);
    let _ = writeln!(o, "| from genesis | {} |", yes(i.from_genesis));
    let _ = writeln!(o, "| tail anchored | {} |", yes(i.tail_anchored));
    let epochs: Vec<String> = i.epochs.iter().map(ToString::to_string).collect();
    let _ = writeln!(o, "| epochs | {} |", epochs.join(", "));
    let _ = writeln!(o, "| warnings | {} |\n", i.warnings);

    let _ = writeln!(o, "## Actions ({} decisions)\n", s.decisions);
    let _ = writeln!(o, "| action | count | share |\n|---|---:|---:|");
    for a in &s.actions {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            e(a.action.as_str()),
            a.count,
            pct(a.share)
        );
    }
    let _ = writeln!(
        o,
        "\n### Actions over time ({} µs buckets)\n",
        s.bucket_micros
    );
    let header: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    let _ = writeln!(o, "| from | {} |", header.join(" | ").replace('_', "\\_"));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(header.len()));
    for b in &s.timeline {
        let c: Vec<String> = b.counts.iter().map(ToString::to_string).collect();
        let _ = writeln!(o, "| {} | {} |", b.start, c.join(" | "));
    }

    let _ = writeln!(o, "\n## Checks\n");
    let _ = writeln!(
        o,
        "| check | ran | fired | fire rate |\n|---|---:|---:|---:|"
    );
    for c in &s.checks {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            e(c.name.as_str()),
            c.ran,
            c.fired,
            pct(c.fire_rate)
        );
    }

    let _ = writeln!(o, "\n## Human oversight and policy flags\n");
    let _ = writeln!(o, "| item | count |\n|---|---:|");
    for (k, v) in s.counts() {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    if !s.signoffs.is_empty() {
        let _ = writeln!(o, "\n### Sign-offs\n\n| seq | reviewer | outcome | target seq | note |\n|---:|---|---|---:|---|");
        for x in &s.signoffs {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                x.seq,
                e(x.reviewer.as_str()),
                e(outcome(x.outcome)),
                x.target.map_or("–".into(), |t| t.to_string()),
                e(x.note.as_deref().unwrap_or(""))
            );
        }
    }
    if !s.key_rotations.is_empty() {
        let _ = writeln!(
            o,
            "\n### Key rotations\n\n| seq | new key id | reason |\n|---:|---|---|"
        );
        for k in &s.key_rotations {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} |",
                k.seq,
                k.new_key,
                e(k.reason.as_str())
            );
        }
    }
    if !s.monitors.is_empty() {
        let _ = writeln!(o, "\n## Monitors\n\n| seq | monitor | method | entries | statistic | threshold | alarm |\n|---:|---|---|---|---:|---:|---|");
        for m in &s.monitors {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {}–{} | {} | {} | {} |",
                m.seq,
                e(m.monitor.as_str()),
                e(method(m.method)),
                m.first,
                m.last,
                m.statistic.get(),
                m.threshold.get(),
                yes(m.alarm)
            );
        }
    }

    if !s.contracts.is_empty() {
        let _ = writeln!(o, "\n## Behavioural contracts\n\n| seq | contract | digest | p | δ | k | reliability | passed |\n|---:|---|---|---:|---:|---:|---:|---|");
        for c in &s.contracts {
            let _ = writeln!(
                o,
                "| {} | {} | `{}` | {} | {} | {} | {} | {} |",
                c.seq,
                e(c.name.as_str()),
                c.contract,
                c.p.get(),
                c.delta.get(),
                c.k,
                c.reliability.get(),
                yes(c.passed)
            );
        }
    }

    let _ = writeln!(o, "\n## Crosswalk\n\nTemplate `{}`.", r.crosswalk.template);
    for f in &r.crosswalk.frameworks {
        let _ = writeln!(o, "\n### {}\n", e(&f.title));
        let _ = writeln!(
            o,
            "| control | title | status | evidence |\n|---|---|---|---|"
        );
        for c in &f.controls {
            let ev: Vec<String> = c
                .evidence
                .iter()
                .map(|x| {
                    let seqs: Vec<String> = x.evidence.iter().map(ToString::to_string).collect();
                    format!(
                        "{}: {} ({}/{}{})",
                        e(x.id.as_str()),
                        x.status.as_str(),
                        x.covered,
                        x.scope,
                        if seqs.is_empty() {
                            String::new()
                        } else {
                            format!("; seq {}", seqs.join(", "))
                        }
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} | **{}** | {} |",
                e(&c.reference),
                e(&c.title),
                e(c.status.as_str()),
                ev.join("; ")
            );
        }
    }
    o
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub(crate) fn outcome(o: crate::body::OversightOutcome) -> &'static str {
    use crate::body::OversightOutcome::*;
    match o {
        Approve => "approve",
        Override => "override",
        Reject => "reject",
        Escalate => "escalate",
    }
}

pub(crate) fn method(m: crate::monitor::MonitorMethod) -> &'static str {
    use crate::monitor::MonitorMethod::*;
    match m {
        Sprt => "sprt",
        Drift => "drift",
        Regression => "regression",
    }
}
