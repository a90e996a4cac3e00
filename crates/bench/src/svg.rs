//! The chart written by --output: latency by percentile (x on a "nines" scale: 0%, 90%, 99%,
//! 99.9%, ... evenly spaced, so the tail gets the room) and operations per second over time.

use crate::histogram::Latency;
use std::fmt::Write;

const W: f64 = 900.0;
const H: f64 = 720.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const COLORS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// x position of percentile `p` on the nines scale: log10(1 / (1 - p/100)).
pub fn nines(p: f64) -> f64 {
    let rest = (1.0 - p / 100.0).max(1e-12);
    -rest.log10()
}

/// A "nice" step for an axis spanning 0..max with about `n` ticks.
fn nice_step(max: f64, n: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn fmt_num(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else if x >= 10.0 || x == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Renders the chart; `curves` are (name, histogram), `series` (seconds, ops/s).
pub fn chart(title: &str, curves: &[(String, &Latency)], series: &[(f64, f64)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#, W / 2.0, esc(title));

    // Latency by percentile.
    let (top, bottom) = (50.0, 380.0);
    let plot_w = W - LEFT - RIGHT;
    let total: u64 = curves.iter().map(|(_, h)| h.count()).max().unwrap_or(0);
    // As many nines as the sample count supports (one sample in 10^k resolves k nines).
    let max_nines = ((total.max(100) as f64).log10().ceil()).clamp(2.0, 6.0);
    let max_ms = curves.iter().map(|(_, h)| h.max_us() / 1000.0).fold(0.0, f64::max);
    let ystep = nice_step(max_ms, 6.0);
    let ymax = (max_ms / ystep).ceil().max(1.0) * ystep;
    let x_of = |p: f64| LEFT + nines(p).min(max_nines) / max_nines * plot_w;
    let y_of = |v: f64| bottom - v / ymax * (bottom - top);
    let _ = writeln!(s, r#"<text x="{LEFT}" y="{}" font-size="13">Latency by percentile (ms)</text>"#, top - 8.0);
    axes(&mut s, top, bottom, plot_w);
    for k in 0..=(max_nines as u32) {
        let p = 100.0 - 100.0 / 10f64.powi(k as i32);
        let x = LEFT + k as f64 / max_nines * plot_w;
        let label = match k {
            0 => "0%".to_string(),
            _ => format!("{}%", trim(p)),
        };
        grid_x(&mut s, x, top, bottom, &label);
    }
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        grid_y(&mut s, y_of(v), plot_w, &fmt_ms(v));
        v += ystep;
    }
    for (i, (name, h)) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        for (p, us) in h.curve(10) {
            let _ = write!(pts, "{:.1},{:.1} ", x_of(p), y_of(us / 1000.0));
        }
        let _ = writeln!(s, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, pts.trim_end());
        legend(&mut s, i, top, color, &format!("{name} (p99 {} ms)", fmt_ms(h.percentile_us(99.0) / 1000.0)));
    }

    // Operations per second over time.
    let (top2, bottom2) = (440.0, 680.0);
    let _ = writeln!(s, r#"<text x="{LEFT}" y="{}" font-size="13">Operations per second over time</text>"#, top2 - 8.0);
    axes(&mut s, top2, bottom2, plot_w);
    let tmax = series.iter().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let rmax_raw = series.iter().map(|p| p.1).fold(0.0, f64::max);
    let rstep = nice_step(rmax_raw, 5.0);
    let rmax = (rmax_raw / rstep).ceil().max(1.0) * rstep;
    let tstep = nice_step(tmax, 8.0);
    let mut t = 0.0;
    while t <= tmax + 1e-9 {
        grid_x(&mut s, LEFT + t / tmax * plot_w, top2, bottom2, &format!("{}s", trim(t)));
        t += tstep;
    }
    let mut r = 0.0;
    while r <= rmax + 1e-9 {
        grid_y(&mut s, bottom2 - r / rmax * (bottom2 - top2), plot_w, &fmt_num(r));
        r += rstep;
    }
    let mut pts = String::new();
    for &(t, r) in series {
        let _ = write!(pts, "{:.1},{:.1} ", LEFT + t / tmax * plot_w, bottom2 - r / rmax * (bottom2 - top2));
    }
    let _ = writeln!(s, r##"<polyline fill="none" stroke="#333" stroke-width="2" points="{}"/>"##, pts.trim_end());
    s.push_str("</svg>\n");
    s
}

fn trim(x: f64) -> String {
    let t = format!("{x:.4}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn fmt_ms(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn axes(s: &mut String, top: f64, bottom: f64, plot_w: f64) {
    let _ = writeln!(s, r##"<path d="M{LEFT},{top} V{bottom} H{}" fill="none" stroke="#000"/>"##, LEFT + plot_w);
}

fn grid_x(s: &mut String, x: f64, top: f64, bottom: f64, label: &str) {
    let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#ddd"/>"##);
    let _ = writeln!(s, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#, bottom + 16.0, esc(label));
}

fn grid_y(s: &mut String, y: f64, plot_w: f64, label: &str) {
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##, LEFT + plot_w);
    let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, LEFT - 6.0, y + 4.0, esc(label));
}

fn legend(s: &mut String, i: usize, top: f64, color: &str, label: &str) {
    let x = W - RIGHT + 12.0;
    let y = top + 10.0 + i as f64 * 18.0;
    let _ = writeln!(s, r#"<rect x="{x}" y="{}" width="12" height="12" fill="{color}"/>"#, y - 10.0);
    let _ = writeln!(s, r#"<text x="{}" y="{y}">{}</text>"#, x + 18.0, esc(label));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nines_scale_spaces_each_nine_evenly() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert!(nines(100.0).is_finite());
    }

    #[test]
    fn chart_is_well_formed_svg_with_a_curve_per_command() {
        let mut h = Latency::new();
        for us in 1..=1000 {
            h.record(Duration::from_micros(us));
        }
        let svg = chart("GET <& SET>", &[("GET".into(), &h), ("SET".into(), &h)], &[(0.25, 1000.0), (0.5, 1200.0)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("GET &lt;&amp; SET&gt;"));
        assert!(svg.contains(">99.9%<"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn an_empty_run_still_renders() {
        let h = Latency::new();
        let svg = chart("empty", &[("GET".into(), &h)], &[]);
        assert!(!svg.contains("NaN"));
    }
}
