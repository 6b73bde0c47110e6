//! Self-contained HTML rendering of a [`ComplianceReport`] (SPEC §11.3.3):
//! one page, inline CSS and an inline SVG chart, no script and no external
//! resource; a Content-Security-Policy forbids both anyway. Every text that
//! comes from an entry or a template goes through [`escape`].

use std::fmt::Write as _;

use super::crosswalk::Status;
use super::markdown::{method, outcome};
use super::report::ComplianceReport;
use super::summary::Summary;
use crate::receipt::Action;

/// Escapes text for HTML element content and quoted attribute values:
/// `&`, `<`, `>`, `"` and `'` become character references; other control
/// characters than tab and line breaks are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Colours of the actions in SPEC order.
const COLOURS: [&str; 7] = [
    "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#4e342e", "#00838f",
];

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.notice{background:#fff8e1;border-left:4px solid #f9a825;padding:.6em 1em}\
.s{font-weight:bold;padding:.1em .4em;border-radius:3px;color:#fff}.PASS{background:#2e7d32}.PARTIAL{background:#ef6c00}.FAIL{background:#c62828}.NA{background:#757575}\
code{font-size:.9em}.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}";

pub(crate) fn render(r: &ComplianceReport) -> String {
    let s = &r.summary;
    let e = escape;
    let mut o = String::with_capacity(16 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    let _ = writeln!(
        o,
        "<title>Compliance report: {} / {}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        e(s.log.as_str()),
        e(s.tenant.as_str())
    );
    let _ = writeln!(
        o,
        "<h1>Compliance report: {} / {}</h1>\n<p class=\"notice\">{}</p>",
        e(s.log.as_str()),
        e(s.tenant.as_str()),
        e(&r.notice)
    );
    let _ = writeln!(
        o,
        "<p>Entries seq {}–{} ({} entries), {} to {}; last entry hash <code>{}</code>.</p>",
        s.first, s.last, s.entries, s.from, s.to, s.last_hash
    );
    let i = &s.integrity;
    let epochs: Vec<String> = i.epochs.iter().map(ToString::to_string).collect();
    o.push_str("<h2>Integrity (as verified)</h2>\n<table>\n");
    for (k, v) in [
        ("chain verified", "yes".to_owned()),
        ("signed checkpoints verified", i.checkpoints.to_string()),
        ("from genesis", yes(i.from_genesis).into()),
        ("tail anchored", yes(i.tail_anchored).into()),
        ("epochs", epochs.join(", ")),
        ("warnings", i.warnings.to_string()),
    ] {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{}</td></tr>", e(&v));
    }
    o.push_str("</table>\n");

    let _ = writeln!(o, "<h2>Actions ({} decisions)</h2>\n<table>\n<tr><th>action</th><th>count</th><th>share</th></tr>", s.decisions);
    for a in &s.actions {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} %</td></tr>",
            e(a.action.as_str()),
            a.count,
            a.share * 100.0
        );
    }
    o.push_str("</table>\n<h3>Actions over time</h3>\n");
    chart(&mut o, s);

    o.push_str("<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>ran</th><th>fired</th><th>fire rate</th></tr>\n");
    for c in &s.checks {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} %</td></tr>",
            e(c.name.as_str()),
            c.ran,
            c.fired,
            c.fire_rate * 100.0
        );
    }
    o.push_str("</table>\n");

    o.push_str("<h2>Human oversight, flags, redactions</h2>\n<table>\n");
    for (k, v) in s.counts() {
        let _ = writeln!(o, "<tr><th>{k}</th><td class=\"n\">{v}</td></tr>");
    }
    o.push_str("</table>\n");
    if !s.signoffs.is_empty() {
        o.push_str("<h3>Sign-offs</h3>\n<table>\n<tr><th>seq</th><th>reviewer</th><th>outcome</th><th>target seq</th><th>note</th></tr>\n");
        for x in &s.signoffs {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                x.seq,
                e(x.reviewer.as_str()),
                e(outcome(x.outcome)),
                x.target.map_or("–".into(), |t| t.to_string()),
                e(x.note.as_deref().unwrap_or(""))
            );
        }
        o.push_str("</table>\n");
    }
    if !s.key_rotations.is_empty() {
        o.push_str("<h3>Key rotations</h3>\n<table>\n<tr><th>seq</th><th>new key id</th><th>reason</th></tr>\n");
        for k in &s.key_rotations {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
                k.seq,
                k.new_key,
                e(k.reason.as_str())
            );
        }
        o.push_str("</table>\n");
    }
    if !s.monitors.is_empty() {
        o.push_str("<h2>Monitors</h2>\n<table>\n<tr><th>seq</th><th>monitor</th><th>method</th><th>entries</th><th>statistic</th><th>threshold</th><th>alarm</th></tr>\n");
        for m in &s.monitors {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
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
        o.push_str("</table>\n");
    }

    let _ = writeln!(
        o,
        "<h2>Crosswalk</h2>\n<p>Template <code>{}</code>.</p>",
        r.crosswalk.template
    );
    for f in &r.crosswalk.frameworks {
        let _ = writeln!(o, "<h3>{}</h3>\n<table>\n<tr><th>control</th><th>title</th><th>status</th><th>evidence</th></tr>", e(&f.title));
        for c in &f.controls {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>",
                e(&c.reference),
                e(&c.title),
                badge(c.status)
            );
            for x in &c.evidence {
                let seqs: Vec<String> = x.evidence.iter().map(ToString::to_string).collect();
                let _ = write!(
                    o,
                    "<div>{} {}: {} ({}/{}){}</div>",
                    badge(x.status),
                    e(x.id.as_str()),
                    e(&x.what),
                    x.covered,
                    x.scope,
                    if seqs.is_empty() {
                        String::new()
                    } else {
                        format!(" seq {}", seqs.join(", "))
                    }
                );
            }
            o.push_str("</td></tr>\n");
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn badge(s: Status) -> String {
    let class = if s == Status::NotApplicable {
        "NA"
    } else {
        s.as_str()
    };
    format!("<span class=\"s {class}\">{}</span>", escape(s.as_str()))
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// A stacked bar per time bucket, one colour per action, with a legend.
fn chart(o: &mut String, s: &Summary) {
    const W: u64 = 720;
    const H: u64 = 200;
    const PAD: u64 = 30;
    let n = s.timeline.len() as u64;
    let max = s
        .timeline
        .iter()
        .map(|b| b.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\"><title>Decisions per action over time</title>",
        W + PAD,
        H + 2 * PAD,
        W + PAD,
        H + 2 * PAD
    );
    let _ = writeln!(
        o,
        "<line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{}\" stroke=\"#444\"/>",
        H + PAD,
        W + PAD,
        H + PAD,
        H + PAD
    );
    let _ = writeln!(o, "<text x=\"2\" y=\"{}\" font-size=\"11\">{max}</text><text x=\"2\" y=\"{}\" font-size=\"11\">0</text>", PAD + 4, H + PAD);
    if let Some(slot) = W.checked_div(n) {
        let bar = (slot * 4 / 5).max(1);
        for (i, b) in s.timeline.iter().enumerate() {
            let x = PAD + i as u64 * slot + slot.saturating_sub(bar) / 2;
            let mut y = H + PAD;
            for (k, c) in b.counts.iter().enumerate() {
                if *c == 0 {
                    continue;
                }
                let h = (c * H).div_ceil(max).max(1);
                y = y.saturating_sub(h);
                let _ = writeln!(
                    o,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{h}\" fill=\"{}\"><title>{} {}: {c}</title></rect>",
                    COLOURS[k],
                    b.start,
                    Action::ALL[k].as_str()
                );
            }
        }
        if let (Some(first), Some(last)) = (s.timeline.first(), s.timeline.last()) {
            let _ = writeln!(
                o,
                "<text x=\"{PAD}\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
                H + PAD + 16,
                first.start,
                W + PAD,
                H + PAD + 16,
                last.start
            );
        }
    }
    o.push_str("</svg>\n<p class=\"legend\">");
    for (k, a) in Action::ALL.iter().enumerate() {
        let _ = write!(
            o,
            "<span><i style=\"background:{}\"></i>{}</span>",
            COLOURS[k],
            a.as_str()
        );
    }
    o.push_str("</p>\n");
}
