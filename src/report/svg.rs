//! The report's charts as SVG, drawn with plotters' SVG backend.
//!
//! No fonts are read: without plotters' `ttf` feature text sizes are
//! estimated, and the SVG says `font-family="sans-serif"`, which the viewer
//! resolves. Every string plotters writes is XML-escaped by its backend.

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, eyre};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PhaseTiming, Summary};
use crate::events::StepStatus;
use crate::state::{Metric, Point};

/// Chart size in SVG units (pixels at 100 %).
const WIDTH: u32 = 960;
const LINE_HEIGHT: u32 = 320;
/// The Gantt chart: a row per phase and step, labels on the left.
const ROW_HEIGHT: u32 = 20;
const LABEL_WIDTH: u32 = 320;
const LABEL_CHARS: usize = 40;
/// Plotters draws text at 1/1.24 of the size asked: these come out at 13 and 12 px.
const TEXT_SIZE: f64 = 16.0;
const SMALL_TEXT_SIZE: f64 = 15.0;
const FONT: &str = "sans-serif";
/// Phase markers closer than this share one label.
const MARK_LABEL_GAP_PX: i32 = 24;
/// When plans reach past this many times the run's length, the timeline
/// shows the run and cuts the longer plans at its right edge.
const PLAN_OVERRUN_FACTOR: f64 = 2.0;

/// The first lag series' colour, used nowhere else (tests look for it).
pub const LAG_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// Colours of further series, in order.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0xd6, 0x5f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];
const MARK: RGBColor = RGBColor(0x70, 0x70, 0x70);
const DONE: RGBColor = RGBColor(0x3a, 0x9a, 0x3a);
const FAILED: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const OPEN: RGBColor = RGBColor(0xf0, 0x9a, 0x20);
const PLANNED: RGBColor = RGBColor(0xcf, 0xd4, 0xdc);
const PAUSE: RGBColor = RGBColor(0xff, 0xe9, 0xa8);

/// How a chart's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Seconds,
    Percent,
    Count,
}

impl Unit {
    #[must_use]
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Bytes => crate::format::bytes(value),
            Self::Seconds if value > 0.0 && value < 1.0 => {
                let ms = value * 1000.0;
                if ms >= 10.0 {
                    format!("{ms:.0} ms")
                } else if ms >= 1.0 {
                    format!("{ms:.1} ms")
                } else {
                    format!("{ms:.2} ms")
                }
            }
            Self::Seconds => crate::format::seconds(value),
            Self::Percent => format!("{value:.0} %"),
            Self::Count => format!("{value:.0}"),
        }
    }
}

/// One chart of the report: a metric's series over the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChartSpec {
    /// File-name friendly: `lag-bytes`.
    pub slug: &'static str,
    pub title: &'static str,
    pub metric: Metric,
    pub unit: Unit,
}

/// The gauge charts, in report order.
pub const CHARTS: [ChartSpec; 5] = [
    ChartSpec { slug: "lag-bytes", title: "Replication lag (bytes)", metric: Metric::LagBytes, unit: Unit::Bytes },
    ChartSpec {
        slug: "lag-seconds",
        title: "Replication lag (seconds)",
        metric: Metric::LagSeconds,
        unit: Unit::Seconds,
    },
    ChartSpec {
        slug: "pool",
        title: "Pool saturation: connections used",
        metric: Metric::ConnectionsUsedPct,
        unit: Unit::Percent,
    },
    ChartSpec {
        slug: "pooler-waiting",
        title: "Pooler clients waiting",
        metric: Metric::ClientsWaiting,
        unit: Unit::Count,
    },
    ChartSpec { slug: "disk", title: "Disk used", metric: Metric::DiskUsedPct, unit: Unit::Percent },
];

impl ChartSpec {
    fn is_lag(self) -> bool {
        matches!(self.metric, Metric::LagBytes | Metric::LagSeconds)
    }
}

fn failed(what: &str) -> impl Fn(String) -> color_eyre::Report + '_ {
    move |e| eyre!("cannot draw the {what} chart: {e}")
}

/// Seconds between two times.
fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let millis = (to - from).num_milliseconds() as f64;
    millis / 1000.0
}

/// `+0:05`, `+12:30`, `+1:02:03`: time since the start.
fn offset_text(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let s = secs.round() as i64;
    let (sign, s) = if s < 0 { ("-", -s) } else { ("+", s) };
    if s >= 3600 {
        format!("{sign}{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{sign}{}:{:02}", s / 60, s % 60)
    }
}

/// What a chart's y axis shows.
enum YAxis<'f> {
    /// Values, labelled by this formatter; both axes are described.
    Values(&'f dyn Fn(&f64) -> String),
    /// The timeline's rows: no labels, no grid lines across.
    Rows,
}

/// The plot area over `x_max` seconds since the start and `y_max`, its grid
/// drawn, the x axis labelled with the time since the start.
fn plot<'a, DB: DrawingBackend>(
    builder: &mut ChartBuilder<'a, '_, DB>,
    (x_max, y_max): (f64, f64),
    y: YAxis<'_>,
    err: &dyn Fn(String) -> color_eyre::Report,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = builder.build_cartesian_2d(0.0..x_max, 0.0..y_max).map_err(|e| err(e.to_string()))?;
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&|x| offset_text(*x))
        .label_style((FONT, SMALL_TEXT_SIZE))
        .light_line_style(RGBColor(0xee, 0xee, 0xee));
    match y {
        YAxis::Values(format) => {
            mesh.x_desc("time since the start").y_label_formatter(format).axis_desc_style((FONT, SMALL_TEXT_SIZE));
        }
        YAxis::Rows => {
            mesh.disable_y_mesh().y_labels(0);
        }
    }
    mesh.draw().map_err(|e| err(e.to_string()))?;
    Ok(chart)
}

/// The line chart of one metric, with a marker at each phase's start;
/// `None` when the journal has no such figures.
///
/// # Errors
/// Plotters failed to draw (it writes to a string: it should not).
pub fn line_chart(summary: &Summary, spec: ChartSpec) -> Result<Option<String>> {
    let series = summary.series_of(spec.metric);
    if series.is_empty() {
        return Ok(None);
    }
    let t0 = Point::at(summary.began, 0.0).t;
    let x_max = secs(summary.began, summary.ended).max(1.0);
    let peak = series.iter().flat_map(|(_, points)| points.iter()).map(|p| p.v).fold(0.0_f64, f64::max);
    let y_max = match spec.unit {
        Unit::Percent => 100.0,
        _ if peak <= 0.0 => 1.0,
        _ => peak * 1.1,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, LINE_HEIGHT)).into_drawing_area();
        let err = failed(spec.title);
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut builder = ChartBuilder::on(&root);
        builder.margin(12).margin_top(26).x_label_area_size(40).y_label_area_size(80);
        let mut chart = plot(&mut builder, (x_max, y_max), YAxis::Values(&|y| spec.unit.format(*y)), &err)?;
        // Phase ids above the plot, where neither the lines nor the legend
        // are; phases that began within a few pixels of each other share one.
        let mut labels: Vec<(i32, i32, String)> = Vec::new();
        for (id, at) in &summary.phase_marks {
            let x = secs(summary.began, *at);
            let line = PathElement::new(vec![(x, 0.0), (x, y_max)], MARK.stroke_width(1));
            chart.draw_series([line]).map_err(|e| err(e.to_string()))?;
            let (px, py) = chart.backend_coord(&(x, y_max));
            match labels.last_mut() {
                Some((first, _, text)) if px - *first < MARK_LABEL_GAP_PX => text.push_str(&format!(",{id}")),
                _ => labels.push((px, py, id.clone())),
            }
        }
        for (px, py, text) in labels {
            let style = TextStyle::from((FONT, TEXT_SIZE).into_font().style(FontStyle::Bold)).color(&MARK);
            let label = Text::new(text, (px, py - 3), style.pos(anchor(HPos::Left, VPos::Bottom)));
            root.draw(&label).map_err(|e| err(e.to_string()))?;
        }
        let colours = if spec.is_lag() { Some(LAG_COLOUR) } else { None }.into_iter().chain(PALETTE.iter().copied());
        for ((name, points), colour) in series.iter().zip(colours.cycle()) {
            let line = LineSeries::new(points.iter().map(|p| (p.t - t0, p.v)), colour.stroke_width(2));
            chart
                .draw_series(line)
                .map_err(|e| err(e.to_string()))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(MARK)
            .label_font((FONT, SMALL_TEXT_SIZE))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(Some(svg))
}

/// What the timeline's colours mean.
pub const TIMELINE_KEY: &str = "Grey: planned, from the actual start. Green: done; red: failed; orange: never seen to \
                                finish. Yellow band: the write pause. A plan much longer than the run is cut at the \
                                right edge and labelled with its length.";

/// One row of the Gantt chart.
struct Row {
    label: String,
    phase: bool,
    planned: Option<chrono::Duration>,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
    failed: bool,
}

fn rows(phases: &[PhaseTiming]) -> Vec<Row> {
    let mut rows = Vec::new();
    for phase in phases.iter().filter(|p| p.started().is_some()) {
        rows.push(Row {
            label: format!("{} {}", phase.id, phase.name),
            phase: true,
            planned: phase.planned(),
            started: phase.started(),
            finished: phase.finished(),
            failed: phase.steps.iter().any(|s| s.status == StepStatus::Failed),
        });
        for step in &phase.steps {
            rows.push(Row {
                label: format!("  {} {}", step.id, step.name),
                phase: false,
                planned: step.planned_secs.and_then(|s| chrono::Duration::try_seconds(i64::try_from(s).ok()?)),
                started: step.started,
                finished: step.finished,
                failed: step.status == StepStatus::Failed,
            });
        }
    }
    rows
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

/// Planned (grey) against actual (green; red when failed, orange when left
/// unfinished) bars of every phase that ran and its steps, the write pause
/// shaded; `None` when no step ever started.
///
/// # Errors
/// Plotters failed to draw.
pub fn timeline_chart(summary: &Summary) -> Result<Option<String>> {
    let rows = rows(&summary.phases);
    if rows.is_empty() {
        return Ok(None);
    }
    let began = summary.began;
    let planned_end = rows
        .iter()
        .filter_map(|r| Some(secs(began, r.started?) + secs(began, began + r.planned?)))
        .fold(0.0_f64, f64::max);
    let span = secs(began, summary.ended).max(1.0);
    let x_max = if planned_end > span * PLAN_OVERRUN_FACTOR { span * 1.15 } else { span.max(planned_end) };
    #[allow(clippy::cast_precision_loss)]
    let n = rows.len() as f64;
    let height = u32::try_from(rows.len()).unwrap_or(u32::MAX).saturating_mul(ROW_HEIGHT).saturating_add(60);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let err = failed("timeline");
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let (labels, bars) = root.split_horizontally(LABEL_WIDTH);
        let mut builder = ChartBuilder::on(&bars);
        builder.margin_right(16).margin_top(22).x_label_area_size(34);
        let mut chart = plot(&mut builder, (x_max, n), YAxis::Rows, &err)?;
        if let Some(pause) = summary.write_pause {
            let (from, to) = (secs(began, pause.started), secs(began, pause.ended.unwrap_or(summary.ended)));
            let band = Rectangle::new([(from, 0.0), (to.max(from + x_max / 400.0), n)], PAUSE.filled());
            chart.draw_series([band]).map_err(|e| err(e.to_string()))?;
            let (px, py) = chart.backend_coord(&(from, n));
            let style = TextStyle::from((FONT, SMALL_TEXT_SIZE).into_font()).color(&MARK);
            let label = Text::new("write pause", (px, py - 3), style.pos(anchor(HPos::Left, VPos::Bottom)));
            root.draw(&label).map_err(|e| err(e.to_string()))?;
        }
        let min_width = x_max / 500.0;
        for (i, row) in rows.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let top = n - i as f64;
            let (pad, thick) = if row.phase { (0.12, 0.76) } else { (0.25, 0.5) };
            let Some(start) = row.started.map(|at| secs(began, at)) else { continue };
            if let Some(planned) = row.planned {
                let end = start + secs(began, began + planned);
                let cut = end > x_max;
                let end = end.min(x_max);
                let bar = Rectangle::new(
                    [(start, top - pad), (end.max(start + min_width), top - pad - thick)],
                    PLANNED.filled(),
                );
                chart.draw_series([bar]).map_err(|e| err(e.to_string()))?;
                if cut {
                    let (px, py) = chart.backend_coord(&(x_max, top - pad - thick / 2.0));
                    let text = format!("planned {} ▸", super::duration_text(planned));
                    let style = TextStyle::from((FONT, SMALL_TEXT_SIZE).into_font()).color(&MARK);
                    let label = Text::new(text, (px - 4, py), style.pos(anchor(HPos::Right, VPos::Center)));
                    root.draw(&label).map_err(|e| err(e.to_string()))?;
                }
            }
            let (end, colour) = match row.finished {
                Some(at) if row.failed => (secs(began, at), FAILED),
                Some(at) => (secs(began, at), DONE),
                None => (secs(began, summary.ended), OPEN),
            };
            let inner = thick * 0.5;
            let bar = Rectangle::new(
                [(start, top - pad - inner / 2.0), (end.max(start + min_width), top - pad - inner * 1.5)],
                colour.filled(),
            );
            chart.draw_series([bar]).map_err(|e| err(e.to_string()))?;
        }
        let labels_top = labels.get_base_pixel().1;
        for (i, row) in rows.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let middle = n - i as f64 - 0.5;
            let (_, y) = chart.backend_coord(&(0.0, middle));
            let font = if row.phase {
                (FONT, TEXT_SIZE).into_font().style(FontStyle::Bold)
            } else {
                (FONT, SMALL_TEXT_SIZE).into_font()
            };
            let style = TextStyle::from(font).pos(anchor(HPos::Left, VPos::Center));
            let text = Text::new(shorten(&row.label), (6, y - labels_top), style);
            labels.draw(&text).map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(Some(svg))
}

fn anchor(h: HPos, v: VPos) -> Pos {
    Pos::new(h, v)
}

/// A gauge chart of the report: drawn, or why not.
pub struct Drawn {
    pub spec: ChartSpec,
    /// The SVG document, or the sentence that stands in for it.
    pub svg: Result<String, String>,
}

/// Every gauge chart the report shows: lag (bytes, seconds), pool, disk
/// always; the pooler's waiting clients when a pooler was watched.
///
/// # Errors
/// Plotters failed to draw.
pub fn gauge_charts(summary: &Summary) -> Result<Vec<Drawn>> {
    let mut drawn = Vec::new();
    for spec in CHARTS {
        let svg = match line_chart(summary, spec)? {
            Some(svg) => Ok(svg),
            None if spec.metric == Metric::ClientsWaiting => continue,
            None if summary.samples == 0 => Err("no samples recorded".to_owned()),
            None => Err(format!("no {} figures in the recorded samples", spec.metric.label())),
        };
        drawn.push(Drawn { spec, svg });
    }
    Ok(drawn)
}
