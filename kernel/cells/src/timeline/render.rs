//! Drawing recorded spans: an SVG picture and a plain-text table.

use std::fmt::Write as _;
use std::time::Duration;

use super::scale::{number, ticks, Unit};
use super::span::{Mark, Span, Status};
use crate::display::escape;

const WIDTH: f64 = 760.0;
const RIGHT_MARGIN: f64 = 28.0;
const TOP: f64 = 30.0;
const LANE: f64 = 26.0;
const BAR: f64 = 16.0;
const AXIS: f64 = 34.0;
const LEGEND: f64 = 26.0;
/// Approximate width of one character of the 12 px label font.
const CHAR: f64 = 7.0;
const MAX_LABEL_CHARS: usize = 24;
const TICKS: usize = 8;

const RUNNING: &str = "#2563a8";
const WAITING: &str = "#cfe0f3";
const CANCELLED: &str = "#c0392b";
const INK: &str = "#222222";
const GRID: &str = "#e4e4e4";

/// The time the picture has to cover: the latest end or mark.
pub(crate) fn extent(spans: &[Span], marks: &[Mark]) -> Duration {
    let ends = spans.iter().map(|span| span.end);
    ends.chain(marks.iter().map(|mark| mark.at))
        .max()
        .unwrap_or_default()
}

/// Lanes of spans: spans are taken in order of start; each goes to the
/// first lane of the same name that is free by then, or opens a new lane,
/// so a name used for one piece of work after another keeps one lane.
pub(crate) fn lanes(spans: &[Span]) -> Vec<Vec<&Span>> {
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|span| span.start);
    let mut lanes: Vec<Vec<&Span>> = Vec::new();
    for span in order {
        let free = lanes.iter_mut().find(|lane| {
            let last = lane[lane.len() - 1];
            last.name == span.name && last.end <= span.start
        });
        match free {
            Some(lane) => lane.push(span),
            None => lanes.push(vec![span]),
        }
    }
    lanes
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_owned()
    } else {
        let kept: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{kept}…")
    }
}

/// Maps times to x coordinates.
struct Axis<'a> {
    unit: &'a Unit,
    left: f64,
    width: f64,
    step: f64,
    end: f64,
}

impl Axis<'_> {
    fn x(&self, at: Duration) -> f64 {
        self.left + self.unit.value(at) / self.end * self.width
    }
}

/// Draws `spans` as one lane per task over a time axis in `unit`, with the
/// `marks` as labelled vertical lines. Running stretches are solid, waiting
/// is pale; an unfinished span has a dashed outline, a cancelled one a red one.
pub fn render_svg(spans: &[Span], marks: &[Mark], unit: &Unit) -> String {
    let lanes = lanes(spans);
    let longest = lanes
        .iter()
        .map(|lane| short(&lane[0].name).chars().count())
        .max()
        .unwrap_or(0);
    let left = (longest as f64 * CHAR + 20.0).clamp(60.0, 200.0);
    let (step, end) = ticks(unit.value(extent(spans, marks)), TICKS);
    let axis = Axis {
        unit,
        left,
        width: WIDTH - left - RIGHT_MARGIN,
        step,
        end,
    };
    let lanes_bottom = TOP + LANE * lanes.len().max(1) as f64;
    let height = lanes_bottom + AXIS + LEGEND;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect class=\"background\" width=\"{WIDTH}\" height=\"{height}\" fill=\"white\"/>"
    );
    if lanes.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{left}\" y=\"{}\" fill=\"{INK}\">nothing tracked yet</text>",
            TOP + LANE / 2.0 + 4.0
        );
    }
    draw_grid(&mut svg, &axis, lanes_bottom);
    for (index, lane) in lanes.iter().enumerate() {
        draw_lane(&mut svg, &axis, index, lane);
    }
    for mark in marks {
        draw_mark(&mut svg, &axis, mark, lanes_bottom);
    }
    draw_axis(&mut svg, &axis, lanes_bottom);
    draw_legend(&mut svg, height - 9.0);
    svg.push_str("</svg>");
    svg
}

fn draw_grid(svg: &mut String, axis: &Axis, bottom: f64) {
    let count = (axis.end / axis.step).round() as usize;
    for i in 0..=count {
        let x = axis.left + i as f64 / count as f64 * axis.width;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.2}\" y1=\"{TOP}\" x2=\"{x:.2}\" y2=\"{bottom}\" stroke=\"{GRID}\"/>"
        );
    }
}

fn draw_lane(svg: &mut String, axis: &Axis, index: usize, lane: &[&Span]) {
    let top = TOP + LANE * index as f64;
    let name = &lane[0].name;
    let _ = write!(
        svg,
        "<g class=\"lane\" data-name=\"{}\"><text class=\"label\" x=\"{:.2}\" y=\"{:.2}\" \
         text-anchor=\"end\" fill=\"{INK}\">{}<title>{}</title></text>",
        escape(name),
        axis.left - 8.0,
        top + LANE / 2.0 + 4.0,
        escape(&short(name)),
        escape(name)
    );
    let y = top + (LANE - BAR) / 2.0;
    for span in lane {
        let x0 = axis.x(span.start);
        let width = (axis.x(span.end) - x0).max(1.0);
        let (stroke, dash) = match span.status {
            Status::Done => (RUNNING, ""),
            Status::Open => (RUNNING, " stroke-dasharray=\"4 3\""),
            Status::Cancelled => (CANCELLED, ""),
        };
        let state = match span.status {
            Status::Done => "done",
            Status::Open => "still going",
            Status::Cancelled => "cancelled",
        };
        let _ = write!(
            svg,
            "<g class=\"span\"><title>{}: {} to {} ({}), {state}</title>\
             <rect class=\"waiting\" x=\"{x0:.2}\" y=\"{y:.2}\" width=\"{width:.2}\" height=\"{BAR}\" \
             fill=\"{WAITING}\" stroke=\"{stroke}\"{dash}/>",
            escape(name),
            number(axis.unit.value(span.start)),
            axis.unit.format(span.end),
            axis.unit.format(span.end.saturating_sub(span.start)),
        );
        for (from, to) in merged_running(axis, span) {
            let _ = write!(
                svg,
                "<rect class=\"running\" x=\"{from:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{BAR}\" fill=\"{RUNNING}\"/>",
                to - from
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</g>");
}

/// Running stretches in x coordinates, at least one pixel wide, merged where
/// they would touch, so a task polled often stays a small picture.
fn merged_running(axis: &Axis, span: &Span) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (from, to) in &span.running {
        let x0 = axis.x(*from);
        let x1 = axis.x(*to).max(x0 + 1.0);
        match out.last_mut() {
            Some(last) if x0 <= last.1 + 0.5 => last.1 = last.1.max(x1),
            _ => out.push((x0, x1)),
        }
    }
    out
}

fn draw_mark(svg: &mut String, axis: &Axis, mark: &Mark, bottom: f64) {
    let x = axis.x(mark.at);
    // A label near the right edge ends at its line instead of overflowing.
    let half = mark.label.chars().count() as f64 * CHAR / 2.0;
    let anchor = if x + half > WIDTH { "end" } else { "middle" };
    let _ = write!(
        svg,
        "<g class=\"mark\"><line x1=\"{x:.2}\" y1=\"{:.2}\" x2=\"{x:.2}\" y2=\"{bottom}\" stroke=\"{INK}\" stroke-dasharray=\"3 3\"/>\
         <text x=\"{x:.2}\" y=\"{:.2}\" text-anchor=\"{anchor}\" fill=\"{INK}\">{}</text></g>",
        TOP - 14.0,
        TOP - 17.0,
        escape(&mark.label)
    );
}

fn draw_axis(svg: &mut String, axis: &Axis, y: f64) {
    let right = axis.left + axis.width;
    let _ = write!(
        svg,
        "<g class=\"axis\"><line x1=\"{}\" y1=\"{y}\" x2=\"{right}\" y2=\"{y}\" stroke=\"{INK}\"/>",
        axis.left
    );
    let count = (axis.end / axis.step).round() as usize;
    for i in 0..=count {
        let x = axis.left + i as f64 / count as f64 * axis.width;
        let _ = write!(
            svg,
            "<line x1=\"{x:.2}\" y1=\"{y}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"{INK}\"/>\
             <text class=\"tick\" x=\"{x:.2}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            y + 5.0,
            y + 18.0,
            number(i as f64 * axis.step)
        );
    }
    let _ = write!(
        svg,
        "<text class=\"unit\" x=\"{right}\" y=\"{}\" text-anchor=\"end\" fill=\"{INK}\">time ({})</text></g>",
        y + 31.0,
        escape(&axis.unit.name)
    );
}

fn draw_legend(svg: &mut String, y: f64) {
    let _ = write!(
        svg,
        "<g class=\"legend\">\
         <rect x=\"12\" y=\"{:.2}\" width=\"14\" height=\"10\" fill=\"{RUNNING}\"/>\
         <text x=\"31\" y=\"{y:.2}\" fill=\"{INK}\">running (being polled)</text>\
         <rect x=\"180\" y=\"{:.2}\" width=\"14\" height=\"10\" fill=\"{WAITING}\" stroke=\"{RUNNING}\"/>\
         <text x=\"199\" y=\"{y:.2}\" fill=\"{INK}\">waiting</text></g>",
        y - 9.0,
        y - 9.0
    );
}

/// One line per span: task, start, end, duration and time spent running.
pub fn render_table(spans: &[Span], unit: &Unit) -> String {
    if spans.is_empty() {
        return "nothing tracked yet".to_owned();
    }
    let mut rows = vec![[
        "task".to_owned(),
        "start".to_owned(),
        "end".to_owned(),
        "duration".to_owned(),
        "running".to_owned(),
    ]];
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|span| span.start);
    for span in order {
        let running: Duration = span.running.iter().map(|(from, to)| *to - *from).sum();
        let end = match span.status {
            Status::Done => unit.format(span.end),
            Status::Open => "(going)".to_owned(),
            Status::Cancelled => format!("{} (cancelled)", unit.format(span.end)),
        };
        rows.push([
            span.name.clone(),
            unit.format(span.start),
            end,
            unit.format(span.end.saturating_sub(span.start)),
            unit.format(running),
        ]);
    }
    let mut widths = [0; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    lines.join("\n")
}
