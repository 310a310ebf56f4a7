//! The `--timings` page: one self-contained HTML file (inline CSS, inline
//! SVG, a small inline script; a Content-Security-Policy that allows
//! nothing else, so the page makes no request). Per build: a summary, the
//! timeline (one bar per action on its worker slot, coloured by stage, the
//! critical path outlined and linked, an SVG `<title>` on hover and the
//! full details on click), the concurrency over time (running, waiting for
//! a slot, waiting for dependencies) and sortable tables per stage, per
//! package and of the slowest actions. Written by hand; every text goes
//! through [`escape`].

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use pipeline::events::Outcome;
use serde_json::json;

use super::critical::critical_path;
use super::{ActionTiming, BuildTimings};

/// The page's policy: inline style and script, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

/// Text for HTML: `&`, `<`, `>`, `"` and `'` as entities (safe in text
/// and in quoted attributes).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// JSON for an inline `<script type="application/json">`: no `<` at all,
/// so nothing in it can close the element.
fn script_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

/// Seconds, for people: `850 ms`, `12.34 s`.
fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// A stage as a CSS class name.
fn stage_class(action: &str) -> String {
    let s: String = action
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("s-{s}")
}

/// Stage colours (Tableau 10, then greys).
const STAGES: &[(&str, &str)] = &[
    ("compile", "#4e79a7"),
    ("asm", "#f28e2b"),
    ("symabis", "#b07aa1"),
    ("pack", "#9c755f"),
    ("link", "#59a14f"),
    ("nosplit", "#e15759"),
    ("abi-report", "#76b7b2"),
    ("preprofile", "#edc948"),
    ("cgo", "#ff9da7"),
    ("cc", "#bab0ac"),
    ("dynimport", "#d37295"),
    ("vet", "#8cd17d"),
    ("test", "#499894"),
];

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta,.hint{color:#666;font-size:12px;margin:2px 0 6px}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 10px 2px 6px;text-align:left;border-bottom:1px solid #eee}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.summary{width:100%;max-width:1320px}table.summary tbody{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));column-gap:28px}
table.summary tr{display:flex;justify-content:space-between;border-bottom:1px solid #eee}table.summary th,table.summary td{border:0}
table.summary th{font-weight:normal;color:#555}table.summary td{font-weight:600;text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6}
table.sortable th.asc::after{content:" \25B2"}table.sortable th.desc::after{content:" \25BC"}
.scroll{max-height:420px;overflow:auto;display:inline-block;border:1px solid #eee}
svg{display:block;width:100%;height:auto}svg text{font:10px system-ui,sans-serif;fill:#333}
.lane{fill:#fafafa}.lane.odd{fill:#f1f1f1}.phase{fill:#e9e9e9}.tick{stroke:#ccc;stroke-width:.5}
.bar{cursor:pointer;fill:#999}.bar.cached{opacity:.4}.bar.failed{fill:#d62728}
.bar.critical{stroke:#111;stroke-width:1.5}.cp-link{stroke:#111;stroke-width:1;stroke-dasharray:3 2;fill:none}
.bar.sel{stroke:#e0007a;stroke-width:2.5;opacity:1}.bar.dep{stroke:#e0007a;stroke-width:1.5;stroke-dasharray:2 1}
svg text.lbl{fill:#fff;pointer-events:none}
.running{fill:#4e79a7;fill-opacity:.55;stroke:#4e79a7}.slot{fill:#f28e2b;fill-opacity:.45;stroke:#f28e2b}
.deps{fill:#bbb;fill-opacity:.5;stroke:#888}.jobs{stroke:#d62728;stroke-dasharray:4 3;fill:none}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:-1px}
pre.detail{background:#f6f6f6;border:1px solid #e4e4e4;padding:6px 8px;white-space:pre-wrap;word-break:break-all;font-size:12px;min-height:2.6em;margin:6px 0}
"#;

const JS: &str = r#"
(function () {
  var errors = [];
  function report() {
    document.body.setAttribute('data-errors', errors.length ? errors.length + ': ' + errors.join('; ') : '0');
  }
  window.addEventListener('error', function (e) { errors.push(String(e.message)); report(); });
  function secs(s) { return s < 1 ? (s * 1e3).toFixed(0) + ' ms' : s.toFixed(2) + ' s'; }
  function sortable(table) {
    var ths = table.querySelectorAll('thead th');
    ths.forEach(function (th, col) {
      th.addEventListener('click', function () {
        var desc = !th.classList.contains('desc');
        ths.forEach(function (o) { o.classList.remove('asc', 'desc'); });
        th.classList.add(desc ? 'desc' : 'asc');
        var num = th.classList.contains('n');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col], c;
          if (num) { c = parseFloat(x.getAttribute('data-v')) - parseFloat(y.getAttribute('data-v')); }
          else { c = x.textContent.localeCompare(y.textContent); }
          return desc ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  try {
    document.querySelectorAll('section.build').forEach(function (sec) {
      var data = JSON.parse(sec.querySelector('script.data').textContent);
      var byId = {};
      data.actions.forEach(function (a) { byId[a.id] = a; });
      var bars = sec.querySelectorAll('.bar');
      var barOf = {};
      bars.forEach(function (b) { barOf[b.getAttribute('data-id')] = b; });
      var detail = sec.querySelector('pre.detail');
      bars.forEach(function (bar) {
        bar.addEventListener('click', function () {
          var a = byId[bar.getAttribute('data-id')];
          sec.querySelectorAll('.bar.sel,.bar.dep').forEach(function (b) { b.classList.remove('sel', 'dep'); });
          bar.classList.add('sel');
          a.deps.forEach(function (d) { if (barOf[d]) { barOf[d].classList.add('dep'); } });
          var lines = [a.name + (a.critical ? '   [critical path]' : ''),
            'package: ' + a.package + (a.file ? '   file: ' + a.file : ''),
            'outcome: ' + a.outcome + (a.cache ? ' (' + a.cache + ' cache)' : ''),
            'duration: ' + secs(a.duration) + '   ready at ' + secs(a.ready) + ', started at ' + secs(a.start) +
              ' (waited ' + secs(a.start - a.ready) + ' for a slot), finished at ' + secs(a.finish) + ', slot ' + a.worker,
            'waited for: ' + (a.deps.length ? a.deps.map(function (d) { return byId[d] ? byId[d].name : '#' + d; }).join(', ') : 'nothing')];
          if (a.dirty) { lines.push('why it ran: ' + a.dirty); }
          if (a.command) { lines.push('$ ' + a.command); }
          detail.textContent = lines.join('\n');
        });
      });
      sec.querySelectorAll('table.sortable').forEach(sortable);
      sec.setAttribute('data-bars', String(bars.length));
      sec.setAttribute('data-critical', Array.prototype.map.call(sec.querySelectorAll('.bar.critical'),
        function (b) { return b.getAttribute('data-id'); }).join(','));
    });
    report();
  } catch (e) {
    errors.push(String(e && e.stack || e));
    report();
    console.error('timings page: ' + e);
  }
})();
"#;

/// The whole page for these builds; `generated` says when.
pub fn page(builds: &[BuildTimings], generated: &str) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n\
         <title>cargo gobuild timings</title>\n<style>{CSS}"
    );
    for (s, c) in STAGES {
        let _ = write!(h, ".{}{{fill:{c}}}", stage_class(s));
    }
    let _ = write!(
        h,
        "</style></head>\n<body>\n<h1>cargo gobuild timings</h1>\n<p class=\"meta\">{} build{} · generated {}</p>\n",
        builds.len(),
        if builds.len() == 1 { "" } else { "s" },
        escape(generated)
    );
    for (i, b) in builds.iter().enumerate() {
        section(&mut h, i, builds.len(), b);
    }
    let _ = write!(h, "<script>{JS}</script>\n</body></html>\n");
    h
}

/// Per-action sums for the tables.
#[derive(Default)]
struct Tally {
    actions: usize,
    ran: usize,
    cached: usize,
    time: f64,
    max: f64,
    critical: usize,
    critical_time: f64,
    stages: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, a: &ActionTiming, critical: bool) {
        self.actions += 1;
        match a.outcome {
            Outcome::Ran | Outcome::Failed | Outcome::Discarded => self.ran += 1,
            Outcome::Cached => self.cached += 1,
        }
        self.time += a.duration;
        self.max = self.max.max(a.duration);
        if critical {
            self.critical += 1;
            self.critical_time += a.duration;
        }
        *self.stages.entry(a.action.clone()).or_default() += 1;
    }
}

/// A numeric cell: shown as `text`, sorted by `v`.
fn num(v: f64, text: &str) -> String {
    format!("<td class=\"n\" data-v=\"{v}\">{}</td>", escape(text))
}

fn section(h: &mut String, i: usize, n: usize, b: &BuildTimings) {
    let critical = critical_path(&b.actions);
    let on_path: HashSet<usize> = critical.iter().copied().collect();
    let wall = b.wall().max(1e-6);
    let last_finish = b.actions.iter().map(|a| a.finish).fold(b.started, f64::max);
    let exec = (last_finish - b.started).max(0.0);
    let cpu = b.cpu();
    let (local, remote) = b.cached_local_remote();
    let count = |o: Outcome| b.actions.iter().filter(|a| a.outcome == o).count();
    let (ran, cached, failed) = match &b.finished {
        Some(f) => (f.ran, f.cached, f.failed),
        None => (
            count(Outcome::Ran),
            count(Outcome::Cached),
            count(Outcome::Failed),
        ),
    };
    let conc = Concurrency::of(b);
    let slot_wait: f64 = b.actions.iter().map(|a| (a.start - a.ready).max(0.0)).sum();
    let crit_time: f64 = b
        .actions
        .iter()
        .filter(|a| on_path.contains(&a.id))
        .map(|a| a.duration)
        .sum();
    let status = match &b.finished {
        Some(f) if f.success => "succeeded",
        Some(_) => "failed",
        None => "did not finish",
    };
    let _ = write!(
        h,
        "<section class=\"build\" data-build=\"{i}\">\n<h2>{}profile <code>{}</code>, {} — {}</h2>\n",
        if n > 1 {
            format!("Build {} of {n}: ", i + 1)
        } else {
            String::new()
        },
        escape(&b.profile),
        escape(&b.target),
        status
    );
    // The summary.
    h.push_str("<table class=\"summary\"><tbody>\n");
    let mut row = |k: &str, label: &str, v: String, text: String| {
        let _ = writeln!(
            h,
            "<tr data-k=\"{k}\"><th>{}</th><td data-v=\"{}\">{}</td></tr>",
            escape(label),
            escape(&v),
            escape(&text)
        );
    };
    row(
        "wall",
        "Total time (wall)",
        format!("{wall:.6}"),
        secs(wall),
    );
    row(
        "phases",
        "Load + plan / actions / after",
        format!("{:.6}", b.started),
        format!(
            "{} / {} / {}",
            secs(b.started),
            secs(exec),
            secs((wall - last_finish).max(0.0))
        ),
    );
    row(
        "planned",
        "Actions planned",
        b.planned.to_string(),
        b.planned.to_string(),
    );
    row("ran", "Actions run", ran.to_string(), ran.to_string());
    row(
        "cached",
        "Actions cached",
        cached.to_string(),
        cached.to_string(),
    );
    row(
        "cached-local",
        "Cached locally",
        local.to_string(),
        local.to_string(),
    );
    row(
        "cached-remote",
        "Served remotely",
        remote.to_string(),
        remote.to_string(),
    );
    row(
        "failed",
        "Actions failed",
        failed.to_string(),
        failed.to_string(),
    );
    row(
        "cpu",
        "CPU time (sum) vs actions' wall",
        format!("{cpu:.6}"),
        format!("{} vs {}", secs(cpu), secs(exec)),
    );
    row(
        "parallelism",
        "Parallelism: average / peak / -j",
        format!("{}", b.jobs),
        format!(
            "{:.2} / {} / {}",
            if exec > 0.0 { cpu / exec } else { 0.0 },
            conc.peak_running,
            b.jobs
        ),
    );
    row(
        "slot-wait",
        "Waiting for a slot (sum)",
        format!("{slot_wait:.6}"),
        secs(slot_wait),
    );
    row(
        "critical",
        "Critical path (actions / time / %)",
        critical.len().to_string(),
        format!(
            "{} / {} / {:.0}%",
            critical.len(),
            secs(crit_time),
            100.0 * crit_time / wall
        ),
    );
    h.push_str("</tbody></table>\n");

    // The timeline.
    h.push_str("<h3>Timeline</h3>\n<p class=\"hint\">One bar per action, on the worker slot that ran it, coloured by stage (faded: served from the cache). Outlined and linked: the critical path. Hover for a summary, click for the details and to mark what it waited for.</p>\n");
    legend(h, b);
    timeline(h, b, &on_path, &critical, wall, last_finish);
    h.push_str("<pre class=\"detail\">Click a bar for its package, command, duration, cache outcome and why it ran.</pre>\n");

    // Concurrency.
    h.push_str("<h3>Concurrency</h3>\n<p class=\"legend\"><span><i style=\"background:#4e79a7\"></i>running</span><span><i style=\"background:#f28e2b\"></i>waiting for a slot (ready)</span><span><i style=\"background:#d62728\"></i>-j</span><span><i style=\"background:#bbb\"></i>waiting for dependencies</span></p>\n");
    conc.svg(h, b, wall);

    // Tables.
    let mut stages: BTreeMap<String, Tally> = BTreeMap::new();
    let mut packages: BTreeMap<String, Tally> = BTreeMap::new();
    for a in &b.actions {
        let c = on_path.contains(&a.id);
        stages.entry(a.action.clone()).or_default().add(a, c);
        packages.entry(a.package.clone()).or_default().add(a, c);
    }
    h.push_str("<h3>Per stage</h3>\n<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>Stage</th><th class=\"n\">Actions</th><th class=\"n\">Ran</th><th class=\"n\">Cached</th><th class=\"n\">Time</th><th class=\"n\">Mean</th><th class=\"n\">Max</th><th class=\"n\">Share of CPU</th><th class=\"n\">On critical path</th></tr></thead><tbody>\n");
    for (s, t) in &stages {
        let mean = t.time / t.actions.max(1) as f64;
        let share = if cpu > 0.0 { 100.0 * t.time / cpu } else { 0.0 };
        let _ = writeln!(
            h,
            "<tr><td><i class=\"sw\" style=\"display:inline-block;width:10px;height:10px;background:{}\"></i> {}</td>{}{}{}{}{}{}{}{}</tr>",
            colour(s),
            escape(s),
            num(t.actions as f64, &t.actions.to_string()),
            num(t.ran as f64, &t.ran.to_string()),
            num(t.cached as f64, &t.cached.to_string()),
            num(t.time, &secs(t.time)),
            num(mean, &secs(mean)),
            num(t.max, &secs(t.max)),
            num(share, &format!("{share:.1}%")),
            num(t.critical_time, &format!("{} ({})", t.critical, secs(t.critical_time))),
        );
    }
    h.push_str("</tbody></table></div>\n");
    h.push_str("<h3>Per package</h3>\n<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>Package</th><th class=\"n\">Actions</th><th class=\"n\">Ran</th><th class=\"n\">Cached</th><th class=\"n\">Time</th><th class=\"n\">On critical path</th><th>Stages</th></tr></thead><tbody>\n");
    let mut by_time: Vec<(&String, &Tally)> = packages.iter().collect();
    by_time.sort_by(|a, b| b.1.time.total_cmp(&a.1.time));
    for (p, t) in by_time {
        let st: Vec<String> = t
            .stages
            .iter()
            .map(|(s, n)| {
                if *n > 1 {
                    format!("{s}×{n}")
                } else {
                    s.clone()
                }
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td>{}{}{}{}{}<td>{}</td></tr>",
            escape(p),
            num(t.actions as f64, &t.actions.to_string()),
            num(t.ran as f64, &t.ran.to_string()),
            num(t.cached as f64, &t.cached.to_string()),
            num(t.time, &secs(t.time)),
            num(t.critical_time, &secs(t.critical_time)),
            escape(&st.join(", "))
        );
    }
    h.push_str("</tbody></table></div>\n");
    h.push_str("<h3>Slowest actions</h3>\n<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>Action</th><th>Outcome</th><th class=\"n\">Duration</th><th class=\"n\">Waited for a slot</th><th class=\"n\">Started at</th><th>Critical</th></tr></thead><tbody>\n");
    let mut slow: Vec<&ActionTiming> = b.actions.iter().collect();
    slow.sort_by(|x, y| y.duration.total_cmp(&x.duration));
    for a in slow.iter().take(20) {
        let wait = (a.start - a.ready).max(0.0);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td>{}{}{}<td>{}</td></tr>",
            escape(&a.name()),
            outcome(a),
            num(a.duration, &secs(a.duration)),
            num(wait, &secs(wait)),
            num(a.start, &secs(a.start)),
            if on_path.contains(&a.id) { "yes" } else { "" }
        );
    }
    h.push_str("</tbody></table></div>\n");

    // The data the script shows on click.
    let data = json!({
        "actions": b.actions.iter().map(|a| json!({
            "id": a.id,
            "name": a.name(),
            "package": a.package,
            "file": a.file,
            "outcome": a.outcome,
            "cache": a.cache,
            "dirty": a.dirty,
            "command": a.command,
            "deps": a.deps,
            "ready": a.ready,
            "start": a.start,
            "finish": a.finish,
            "duration": a.duration,
            "worker": a.worker,
            "critical": on_path.contains(&a.id),
        })).collect::<Vec<_>>(),
    });
    let _ = writeln!(
        h,
        "<script type=\"application/json\" class=\"data\">{}</script>\n</section>",
        script_json(&data)
    );
}

fn colour(stage: &str) -> &'static str {
    STAGES
        .iter()
        .find(|(s, _)| *s == stage)
        .map(|(_, c)| *c)
        .unwrap_or("#999")
}

fn outcome(a: &ActionTiming) -> String {
    match (a.outcome, a.cache.as_deref()) {
        (Outcome::Cached, Some(c)) => format!("cached ({c})"),
        (Outcome::Cached, None) => "cached".into(),
        (Outcome::Ran, _) => "ran".into(),
        (Outcome::Failed, _) => "failed".into(),
        (Outcome::Discarded, _) => "discarded (its nosplit check failed)".into(),
    }
}

fn legend(h: &mut String, b: &BuildTimings) {
    let present: HashSet<&str> = b.actions.iter().map(|a| a.action.as_str()).collect();
    h.push_str("<p class=\"legend\">");
    for (s, c) in STAGES.iter().filter(|(s, _)| present.contains(s)) {
        let _ = write!(h, "<span><i style=\"background:{c}\"></i>{s}</span>");
    }
    h.push_str("</p>\n");
}

/// Plot geometry shared by the timeline and the concurrency graph.
const WIDTH: f64 = 1320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;

fn x_of(t: f64, wall: f64) -> f64 {
    LEFT + t.max(0.0) / wall * (WIDTH - LEFT - RIGHT)
}

/// A tick step giving about ten ticks over `wall` seconds.
fn tick_step(wall: f64) -> f64 {
    let raw = wall / 10.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn axis(h: &mut String, wall: f64, top: f64, bottom: f64) {
    let step = tick_step(wall);
    let mut t = 0.0;
    while t <= wall + 1e-9 {
        let x = x_of(t, wall);
        let _ = write!(
            h,
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{bottom:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top - 4.0,
            escape(&if step < 1.0 {
                format!("{:.0}ms", t * 1e3)
            } else {
                format!("{t:.0}s")
            })
        );
        t += step;
    }
}

fn timeline(
    h: &mut String,
    b: &BuildTimings,
    on_path: &HashSet<usize>,
    critical: &[usize],
    wall: f64,
    last_finish: f64,
) {
    let lanes = b
        .actions
        .iter()
        .map(|a| a.worker + 1)
        .max()
        .unwrap_or(0)
        .max(b.jobs)
        .max(1);
    let lane_h = (320.0 / lanes as f64).clamp(16.0, 40.0).round();
    let top = 22.0;
    let height = top + lanes as f64 * lane_h + 6.0;
    let _ = write!(
        h,
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"timeline\">"
    );
    for l in 0..lanes {
        let y = top + l as f64 * lane_h;
        let _ = write!(
            h,
            "<rect class=\"lane{}\" x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"{lane_h}\"/><text x=\"4\" y=\"{:.1}\">slot {l}</text>",
            if l % 2 == 1 { " odd" } else { "" },
            WIDTH - LEFT - RIGHT,
            y + lane_h / 2.0 + 3.0
        );
    }
    let bottom = top + lanes as f64 * lane_h;
    // Before the first action (load, plan) and after the last (install, checks).
    for (from, to, label) in [
        (0.0, b.started, "load + plan"),
        (last_finish, wall, "install + checks"),
    ] {
        let (x0, x1) = (x_of(from, wall), x_of(to, wall));
        if x1 - x0 >= 1.0 {
            let _ = write!(
                h,
                "<rect class=\"phase\" x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{:.1}\"><title>{label}: {}</title></rect>",
                x1 - x0,
                bottom - top,
                secs(to - from)
            );
            if x1 - x0 > 70.0 {
                let _ = write!(
                    h,
                    "<text x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                    x0 + 4.0,
                    top + 12.0
                );
            }
        }
    }
    axis(h, wall, top, bottom);
    let mid = |a: &ActionTiming| top + a.worker as f64 * lane_h + lane_h / 2.0;
    for a in &b.actions {
        let x = x_of(a.start, wall);
        let w = (x_of(a.finish, wall) - x).max(1.0);
        let y = top + a.worker as f64 * lane_h + 2.0;
        let mut class = format!("bar {}", stage_class(&a.action));
        match a.outcome {
            Outcome::Cached => class.push_str(" cached"),
            Outcome::Failed => class.push_str(" failed"),
            Outcome::Discarded => class.push_str(" discarded"),
            Outcome::Ran => {}
        }
        if on_path.contains(&a.id) {
            class.push_str(" critical");
        }
        let mut tip = format!(
            "{}\n{} in {}{}\nready {} · started {} · finished {}",
            a.name(),
            outcome(a),
            secs(a.duration),
            if on_path.contains(&a.id) {
                " · critical path"
            } else {
                ""
            },
            secs(a.ready),
            secs(a.start),
            secs(a.finish)
        );
        if let Some(d) = &a.dirty {
            let _ = write!(tip, "\nwhy: {d}");
        }
        if let Some(c) = &a.command {
            let short: String = c.chars().take(300).collect();
            let _ = write!(
                tip,
                "\n$ {short}{}",
                if short.len() < c.len() { " …" } else { "" }
            );
        }
        let _ = write!(
            h,
            "<rect class=\"{class}\" data-id=\"{}\" x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\"><title>{}</title></rect>",
            a.id,
            lane_h - 4.0,
            escape(&tip)
        );
        let chars = ((w - 6.0) / 5.6).floor();
        if chars >= 4.0 {
            let short_pkg = a.package.rsplit('/').next().unwrap_or(&a.package);
            let label = format!("{} {short_pkg}", a.action);
            let label: String = if label.chars().count() as f64 > chars {
                label
                    .chars()
                    .take(chars as usize - 1)
                    .chain(['…'])
                    .collect()
            } else {
                label
            };
            let _ = write!(
                h,
                "<text class=\"lbl\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + 3.0,
                mid(a) + 3.5,
                escape(&label)
            );
        }
    }
    // The critical path's hand-offs: from each action's end to the next one's start.
    let by_id: BTreeMap<usize, &ActionTiming> = b.actions.iter().map(|a| (a.id, a)).collect();
    for w in critical.windows(2) {
        let (Some(p), Some(n)) = (by_id.get(&w[0]), by_id.get(&w[1])) else {
            continue;
        };
        let _ = write!(
            h,
            "<path class=\"cp-link\" d=\"M{:.1} {:.1} L{:.1} {:.1}\"/>",
            x_of(p.finish, wall),
            mid(p),
            x_of(n.start, wall),
            mid(n)
        );
    }
    h.push_str("</svg>\n");
}

/// The three counts over time, as step functions from the first action.
struct Concurrency {
    /// `(time, running, waiting for a slot, waiting for dependencies)` after each change.
    points: Vec<(f64, i64, i64, i64)>,
    peak_running: i64,
}

impl Concurrency {
    fn of(b: &BuildTimings) -> Concurrency {
        let mut changes: Vec<(f64, i64, i64, i64)> = Vec::new();
        for a in &b.actions {
            changes.push((a.ready, 0, 1, -1));
            changes.push((a.start, 1, -1, 0));
            changes.push((a.finish, -1, 0, 0));
        }
        changes.sort_by(|x, y| x.0.total_cmp(&y.0));
        let (mut run, mut slot, mut deps) = (0i64, 0i64, b.planned as i64);
        let mut points = vec![(b.started, run, slot, deps)];
        let mut peak = 0;
        for (t, r, s, d) in changes {
            run += r;
            slot += s;
            deps += d;
            peak = peak.max(run);
            match points.last_mut() {
                Some(p) if p.0 == t => *p = (t, run, slot, deps),
                _ => points.push((t, run, slot, deps)),
            }
        }
        Concurrency {
            points,
            peak_running: peak,
        }
    }

    fn svg(&self, h: &mut String, b: &BuildTimings, wall: f64) {
        let top = 18.0;
        let (band, gap) = (64.0, 12.0);
        let height = top + 3.0 * band + 2.0 * gap + 6.0;
        let _ = write!(
            h,
            "<svg class=\"concurrency\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"concurrency\">"
        );
        axis(h, wall, top, height - 6.0);
        let end = x_of(wall, wall);
        type Pick = fn(&(f64, i64, i64, i64)) -> i64;
        let bands: [(&str, &str, Pick, i64); 3] = [
            ("running", "running", |p| p.1, b.jobs as i64),
            ("slot", "waiting for a slot", |p| p.2, 1),
            ("deps", "waiting for dependencies", |p| p.3, 1),
        ];
        for (i, (class, label, pick, floor)) in bands.into_iter().enumerate() {
            let base = top + (i as f64 + 1.0) * band + i as f64 * gap;
            let max = self
                .points
                .iter()
                .map(pick)
                .max()
                .unwrap_or(0)
                .max(floor)
                .max(1);
            let y = |v: i64| base - v as f64 / max as f64 * (band - 6.0);
            let first = self.points[0];
            let mut d = format!(
                "M{:.1} {base:.1} V{:.1}",
                x_of(first.0, wall),
                y(pick(&first))
            );
            for p in &self.points[1..] {
                let _ = write!(d, " H{:.1} V{:.1}", x_of(p.0, wall), y(pick(p)));
            }
            let _ = write!(d, " H{end:.1} V{base:.1} Z");
            let _ = write!(
                h,
                "<line class=\"tick\" x1=\"{LEFT}\" x2=\"{end:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\"/>\
                 <path class=\"{class}\" d=\"{d}\"><title>{label}</title></path>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{label}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{max}</text><text x=\"{:.1}\" y=\"{base:.1}\" text-anchor=\"end\">0</text>",
                LEFT + 6.0,
                base - band + 12.0,
                LEFT - 4.0,
                base - band + 12.0,
                LEFT - 4.0,
            );
            if class == "running" {
                let yj = y(b.jobs as i64);
                let _ = write!(
                    h,
                    "<path class=\"jobs\" d=\"M{LEFT} {yj:.1} H{end:.1}\"><title>-j {}</title></path>",
                    b.jobs
                );
            }
        }
        h.push_str("</svg>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::act;
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain/π"), "plain/π");
        assert_eq!(
            script_json(&json!({"c": "</script><!--"})),
            r#"{"c":"\u003c/script>\u003c!--"}"#
        );
    }

    #[test]
    fn the_page_has_a_bar_per_action_and_marks_the_critical_path() {
        let mut a = vec![
            act(0, &[], 0.1, 0.4, 0),
            act(1, &[], 0.1, 0.2, 1),
            act(2, &[0, 1], 0.4, 0.9, 0),
        ];
        a[1].outcome = Outcome::Cached;
        a[1].cache = Some("local".into());
        a[2].package = "evil/<script>".into();
        let b = BuildTimings {
            target: "linux/amd64".into(),
            profile: "dev".into(),
            jobs: 2,
            planned: 3,
            started: 0.1,
            finished: Some(super::super::Finished {
                success: true,
                duration: 1.0,
                ran: 2,
                cached: 1,
                failed: 0,
            }),
            actions: a,
        };
        let p = page(&[b], "now");
        assert_eq!(p.matches("<rect class=\"bar ").count(), 3);
        assert_eq!(p.matches(" critical\" data-id=").count(), 2);
        assert!(p.contains("critical\" data-id=\"0\""));
        assert!(p.contains("critical\" data-id=\"2\""));
        assert!(!p.contains("<script>\"") && !p.contains("evil/<script>"));
        assert!(p.contains(CSP));
        assert!(!p.contains("http://") && !p.contains("https://"));
        assert!(p.contains("<tr data-k=\"ran\"><th>Actions run</th><td data-v=\"2\">"));
    }

    #[test]
    fn concurrency_counts_running_ready_and_waiting() {
        let mut a = vec![act(0, &[], 0.0, 1.0, 0), act(1, &[0], 2.0, 3.0, 0)];
        a[1].ready = 1.0;
        let b = BuildTimings {
            jobs: 1,
            planned: 3,
            actions: a,
            ..Default::default()
        };
        let c = Concurrency::of(&b);
        assert_eq!(
            c.points,
            vec![
                (0.0, 1, 0, 2),
                (1.0, 0, 1, 1),
                (2.0, 1, 0, 1),
                (3.0, 0, 0, 1),
            ]
        );
        assert_eq!(c.peak_running, 1);
    }

    #[test]
    fn ticks_are_round() {
        let near = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(near(tick_step(1.0), 0.1));
        assert!(near(tick_step(7.3), 1.0));
        assert!(near(tick_step(0.03), 0.005));
    }
}
