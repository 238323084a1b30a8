//! Charts as inline SVG: a plot area with time and value axes, lines, step lines, markers and
//! bars. Hand-written because the page must work offline and without scripts; a chart library
//! would be a vendored megabyte for a few hundred lines of paths.

use std::fmt::Write as _;

/// Plot area size and margins, px.
const W: f64 = 960.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 28.0;

/// A chart under construction (also used by gridbot-optimize's report).
pub struct Chart {
    id: String,
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
    legend: Vec<(String, String)>,
    time_axis: bool,
}

/// "Nice" tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    #[allow(clippy::cast_precision_loss, reason = "a handful of ticks")]
    let raw = (hi - lo) / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        "0".to_owned()
    } else if v.fract() == 0.0 && a < 1e4 {
        format!("{v:.0}")
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn fmt_time(ms: f64) -> String {
    #[allow(clippy::cast_possible_truncation, reason = "times of the data: far inside i64")]
    let day = (ms as i64).div_euclid(86_400_000);
    let (y, m, d) = gridbot_core::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `s` escaped for HTML text and attributes.
#[must_use]
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Chart {
    /// A chart with `id`, `height` px, over x in `x` (UTC ms when `time_axis`) and y in `y`
    /// (widened a little so lines do not touch the frame).
    pub fn new(id: &str, height: f64, x: (f64, f64), y: (f64, f64), time_axis: bool) -> Self {
        let pad = ((y.1 - y.0).abs() * 0.05).max(y.1.abs() * 1e-6).max(1e-9);
        let x = if x.1 > x.0 { x } else { (x.0 - 1.0, x.0 + 1.0) };
        // A value axis gets the same margin, so dots at the ends are not cut.
        let x = if time_axis { x } else { (x.0 - (x.1 - x.0) * 0.04, x.1 + (x.1 - x.0) * 0.04) };
        Self {
            id: id.to_owned(),
            height,
            x,
            y: (y.0 - pad, y.1 + pad),
            body: String::new(),
            legend: Vec::new(),
            time_axis,
        }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (W - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        TOP + (self.y.1 - y) / (self.y.1 - self.y.0) * (self.height - TOP - BOTTOM)
    }

    /// A polyline through `points` (at most ~2 per pixel column are drawn: each column keeps its
    /// first, lowest, highest and last point, so spikes survive).
    pub fn line(&mut self, name: &str, class: &str, color: &str, points: &[(f64, f64)]) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        let mut column = f64::NAN;
        let mut bucket: Vec<(f64, f64)> = Vec::new();
        let flush = |bucket: &mut Vec<(f64, f64)>, d: &mut String| {
            if bucket.is_empty() {
                return;
            }
            let first = bucket[0];
            let last = bucket[bucket.len() - 1];
            let lo = bucket.iter().copied().fold(first, |a, b| if b.1 < a.1 { b } else { a });
            let hi = bucket.iter().copied().fold(first, |a, b| if b.1 > a.1 { b } else { a });
            for (x, y) in [first, lo, hi, last] {
                let _ = write!(d, "{}{:.1},{:.1}", if d.is_empty() { "M" } else { "L" }, x, y);
            }
            bucket.clear();
        };
        for &(x, y) in points {
            let (sx, sy) = (self.px(x), self.py(y));
            if sx.floor() != column {
                flush(&mut bucket, &mut d);
                column = sx.floor();
            }
            bucket.push((sx, sy));
        }
        flush(&mut bucket, &mut d);
        let _ = write!(
            self.body,
            r#"<path class="{class}" d="{d}" fill="none" stroke="{color}" stroke-width="1.3"><title>{}</title></path>"#,
            esc(name)
        );
        self.legend.push((name.to_owned(), color.to_owned()));
    }

    /// A step line through `points` (`None` breaks it), dashed.
    pub fn steps(&mut self, name: &str, class: &str, color: &str, points: &[(f64, Option<f64>)]) {
        let mut d = String::new();
        let mut previous: Option<f64> = None;
        for &(x, y) in points {
            let sx = self.px(x);
            match (previous, y) {
                (Some(py), Some(y)) => {
                    let _ = write!(d, "L{sx:.1},{:.1}L{sx:.1},{:.1}", self.py(py), self.py(y));
                }
                (None, Some(y)) => {
                    let _ = write!(d, "M{sx:.1},{:.1}", self.py(y));
                }
                (Some(py), None) => {
                    let _ = write!(d, "L{sx:.1},{:.1}", self.py(py));
                }
                (None, None) => {}
            }
            previous = y;
        }
        if d.is_empty() {
            return;
        }
        let _ = write!(
            self.body,
            r#"<path class="{class}" d="{d}" fill="none" stroke="{color}" stroke-width="1" stroke-dasharray="4 3"><title>{}</title></path>"#,
            esc(name)
        );
        self.legend.push((name.to_owned(), color.to_owned()));
    }

    /// The area between a line and zero (a drawdown), filled.
    pub fn area(&mut self, name: &str, class: &str, color: &str, points: &[(f64, f64)]) {
        let (Some(first), Some(last)) = (points.first(), points.last()) else { return };
        let mut d = format!("M{:.1},{:.1}", self.px(first.0), self.py(0.0));
        for &(x, y) in points {
            let _ = write!(d, "L{:.1},{:.1}", self.px(x), self.py(y));
        }
        let _ = write!(d, "L{:.1},{:.1}Z", self.px(last.0), self.py(0.0));
        let _ = write!(
            self.body,
            r#"<path class="{class}" d="{d}" fill="{color}" fill-opacity="0.35" stroke="{color}" stroke-width="0.8"><title>{}</title></path>"#,
            esc(name)
        );
        self.legend.push((name.to_owned(), color.to_owned()));
    }

    /// Markers: `up` triangles (buys) or down triangles (sells), one per point, with a title.
    pub fn markers(&mut self, name: &str, class: &str, color: &str, up: bool, points: &[(f64, f64, String)]) {
        if points.is_empty() {
            return;
        }
        for (x, y, title) in points {
            let (sx, sy) = (self.px(*x), self.py(*y));
            let shape = if up {
                format!("M{:.1},{:.1}l4,7h-8z", sx, sy - 3.5)
            } else {
                format!("M{:.1},{:.1}l4,-7h-8z", sx, sy + 3.5)
            };
            let _ = write!(
                self.body,
                r#"<path class="{class}" d="{shape}" fill="{color}"><title>{}</title></path>"#,
                esc(title)
            );
        }
        self.legend.push((name.to_owned(), color.to_owned()));
    }

    /// Dots of `radius` px at `points` (x, y, tooltip): a scatter.
    pub fn dots(&mut self, name: &str, class: &str, color: &str, radius: f64, points: &[(f64, f64, String)]) {
        if points.is_empty() {
            return;
        }
        for (x, y, title) in points {
            let _ = write!(
                self.body,
                r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{radius}" fill="{color}"><title>{}</title></circle>"#,
                self.px(*x),
                self.py(*y),
                esc(title)
            );
        }
        self.legend.push((name.to_owned(), color.to_owned()));
    }

    /// Bars at `points` (x, height), `width` in x units; negative values go down in `negative`.
    pub fn bars(&mut self, class: &str, positive: &str, negative: &str, width: f64, points: &[(f64, f64, String)]) {
        for (x, v, title) in points {
            let x0 = self.px(*x - width / 2.0);
            let x1 = self.px(*x + width / 2.0);
            let (y0, y1) = (self.py(0.0), self.py(*v));
            let (top, h) = if y1 < y0 { (y1, y0 - y1) } else { (y0, y1 - y0) };
            let color = if *v >= 0.0 { positive } else { negative };
            let _ = write!(
                self.body,
                r#"<rect class="{class}" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{h:.1}" fill="{color}"><title>{}</title></rect>"#,
                (x1 - x0).max(1.0),
                esc(title)
            );
        }
    }

    /// The finished `<svg>` with axes, grid lines and a legend.
    pub fn finish(self, x_labels: Option<&[(f64, String)]>) -> String {
        let mut s = format!(
            r#"<svg id="{}" class="chart" viewBox="0 0 {W} {h}" width="100%" preserveAspectRatio="none" role="img" xmlns="http://www.w3.org/2000/svg">"#,
            self.id,
            h = self.height
        );
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="#fff" stroke="#ccc"/>"##,
            W - LEFT - RIGHT,
            self.height - TOP - BOTTOM
        );
        for t in ticks(self.y.0, self.y.1, 5) {
            let y = self.py(t);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                fmt_value(t)
            );
        }
        let labels: Vec<(f64, String)> = match x_labels {
            Some(l) => l.to_vec(),
            None if self.time_axis => ticks(self.x.0, self.x.1, 6).into_iter().map(|t| (t, fmt_time(t))).collect(),
            None => ticks(self.x.0, self.x.1, 6).into_iter().map(|t| (t, fmt_value(t))).collect(),
        };
        for (x, label) in labels {
            let px = self.px(x);
            let _ = write!(
                s,
                r##"<text x="{px:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                self.height - 8.0,
                esc(&label)
            );
        }
        s.push_str(&self.body);
        let mut lx = LEFT + 8.0;
        for (name, color) in &self.legend {
            let _ = write!(
                s,
                r##"<rect x="{lx:.1}" y="{}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{}" font-size="11" fill="#333">{}</text>"##,
                4.0,
                lx + 14.0,
                13.0,
                esc(name)
            );
            #[allow(clippy::cast_precision_loss, reason = "legend names are short")]
            let advance = 24.0 + 6.5 * name.chars().count() as f64;
            lx += advance;
        }
        s.push_str("</svg>");
        s
    }
}
