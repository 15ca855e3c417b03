//! The report's PNG figures, drawn with plotters. Text uses the DejaVu Sans
//! font embedded in the binary, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use dnabench_engine::error::{Error, Result};

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The bundled font is a valid TrueType file; failing to read it
        // would only leave figures without text.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../data/fonts/DejaVuSans.ttf"),
        );
    });
}

fn draw_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("cannot draw {}: {e}", path.display()))
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws the series' legend and writes the figure.
fn finish<'a, X, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    root: &DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>,
) -> std::result::Result<(), DrawingAreaErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
}

/// Train and validation loss per epoch.
pub fn loss_curves(path: &Path, run: &str, train: &[f32], valid: &[f32]) -> Result<()> {
    register_font();
    let err = |e| draw_error(path, e);
    let root = BitMapBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let epochs = train.len().max(valid.len()).max(1);
    let all = train.iter().chain(valid).copied().filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo, hi.max(lo + 1e-3))
    } else {
        (0.0, 1.0)
    };
    let pad = (hi - lo) * 0.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("loss of {run}"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1f32..epochs as f32 + 0.01, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean loss")
        .draw()
        .map_err(err)?;
    for (name, values, color) in [("train", train, COLORS[0]), ("valid", valid, COLORS[1])] {
        let points: Vec<(f32, f32)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f32 + 1.0, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(err)?;
    }
    finish(chart, &root).map_err(err)
}

/// (false positive rate, true positive rate) and (recall, precision) points
/// at each distinct threshold, highest first.
/// Points of a curve, in drawing order.
pub type Curve = Vec<(f64, f64)>;

pub fn curve_points(scores: &[f64], labels: &[bool]) -> (Curve, Curve) {
    let p = labels.iter().filter(|&&l| l).count() as f64;
    let n = labels.len() as f64 - p;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut roc, mut pr) = (vec![(0.0, 0.0)], vec![(0.0, 1.0)]);
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]) {
            roc.push((fp / n.max(1.0), tp / p.max(1.0)));
            pr.push((tp / p.max(1.0), tp / (tp + fp)));
        }
    }
    (roc, pr)
}

/// One ROC figure and one PR figure with a curve per (name, scores, labels).
pub fn roc_and_pr(
    roc_path: &Path,
    pr_path: &Path,
    task: &str,
    curves: &[(String, Vec<f64>, Vec<bool>)],
) -> Result<()> {
    register_font();
    for (path, title, x, y, which) in [
        (
            roc_path,
            format!("ROC, {task} (test)"),
            "false positive rate",
            "true positive rate",
            0,
        ),
        (
            pr_path,
            format!("precision-recall, {task} (test)"),
            "recall",
            "precision",
            1,
        ),
    ] {
        let err = |e| draw_error(path, e);
        let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x)
            .y_desc(y)
            .draw()
            .map_err(err)?;
        for (k, (name, scores, labels)) in curves.iter().enumerate() {
            let (roc, pr) = curve_points(scores, labels);
            let points = if which == 0 { roc } else { pr };
            let color = COLORS[k % COLORS.len()];
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(if which == 0 {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::LowerLeft
            })
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(())
}

/// A bar: its mean and sd (None: not scored yet), and a reference value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub mean_sd: Option<(f64, f64)>,
    pub reference: Option<f64>,
}

/// A group of bars under one label.
pub struct BarGroup {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Grouped bars with ± sd whiskers, a colour per series (`series` names
/// them) and each bar's reference value as a black tick.
pub fn grouped_bars(
    path: &Path,
    title: &str,
    series: &[String],
    groups: &[BarGroup],
) -> Result<()> {
    register_font();
    let err = |e| draw_error(path, e);
    let width = (160 + 60 * groups.len() * series.len().max(1)).clamp(640, 1600) as u32;
    let root = BitMapBackend::new(path, (width, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let values = groups.iter().flat_map(|g| {
        g.bars.iter().flat_map(|bar| {
            let top = bar.mean_sd.map(|(m, sd)| m + sd);
            let bottom = bar.mean_sd.map(|(m, sd)| (m - sd).min(0.0));
            [top, bottom, bar.reference]
        })
    });
    let (lo, hi) = values
        .flatten()
        .filter(|v| v.is_finite())
        .fold((0f64, 0f64), |(a, b), v| (a.min(v), b.max(v)));
    let hi = if hi - lo < 1e-6 { lo + 1.0 } else { hi };
    let slots = series.len().max(1) as f64 + 1.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..groups.len() as f64 * slots, lo..hi * 1.08)
        .map_err(err)?;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let slot = x / slots;
            let group = slot.floor() as usize;
            // A label at each group's middle only.
            if (slot - group as f64 - 0.5).abs() < 0.26 / slots && group < labels.len() {
                labels[group].clone()
            } else {
                String::new()
            }
        })
        .y_desc("test metric (mean ± sd over seeds)")
        .draw()
        .map_err(err)?;
    for (k, name) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let x = |g: usize| g as f64 * slots + 0.5 + k as f64;
        let bars: Vec<(usize, f64, f64)> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| group.bars.get(k)?.mean_sd.map(|(m, sd)| (g, m, sd)))
            .collect();
        chart
            .draw_series(
                bars.iter().map(|&(g, m, _)| {
                    Rectangle::new([(x(g), 0.0), (x(g) + 0.9, m)], color.filled())
                }),
            )
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
        chart
            .draw_series(bars.iter().map(|&(g, m, sd)| {
                let mid = x(g) + 0.45;
                PathElement::new(vec![(mid, m - sd), (mid, m + sd)], BLACK.stroke_width(1))
            }))
            .map_err(err)?;
        let ticks: Vec<(usize, f64)> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| group.bars.get(k)?.reference.map(|p| (g, p)))
            .collect();
        chart
            .draw_series(ticks.iter().map(|&(g, p)| {
                PathElement::new(vec![(x(g), p), (x(g) + 0.9, p)], BLACK.stroke_width(3))
            }))
            .map_err(err)?;
    }
    finish(chart, &root).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_run_from_the_origin_to_full_recall() {
        let (roc, pr) = curve_points(&[0.9, 0.8, 0.8, 0.1], &[true, false, true, false]);
        assert_eq!(roc, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert_eq!(pr[0], (0.0, 1.0));
        assert_eq!(pr[2], (1.0, 2.0 / 3.0));
    }

    #[test]
    fn figures_are_png_files() {
        let dir = tempfile::tempdir().unwrap();
        let loss = dir.path().join("loss.png");
        loss_curves(&loss, "r1", &[0.7, 0.5, 0.4], &[0.72, 0.6, 0.61]).unwrap();
        let (roc, pr) = (dir.path().join("roc.png"), dir.path().join("pr.png"));
        let curve = (
            "cnn".to_string(),
            vec![0.9, 0.2, 0.6, 0.4],
            vec![true, false, true, false],
        );
        roc_and_pr(&roc, &pr, "promoter", &[curve]).unwrap();
        for f in [loss, roc, pr] {
            let bytes = std::fs::read(&f).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{}", f.display());
        }
    }
}
