//! The report's PNG figures, drawn with plotters. Text uses the DejaVu Sans
//! font embedded in the binary, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The bundled font is a valid TrueType file; failing to read it
        // would only leave figures without text.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../../data/fonts/DejaVuSans.ttf"),
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
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
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
