//! PNG plots of a run, drawn with plotters: training curves and a labelled confusion
//! matrix. Text uses the bundled DejaVu Sans Mono, so plots render the same on machines
//! without system fonts.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::TrainError;
use crate::trainer::EpochRecord;

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font bundled with the crate.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSansMono.ttf"),
        );
    });
}

/// Renders with `draw` into a `width` × `height` RGB buffer and saves it as PNG at `path`.
fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<(), TrainError> {
    register_font();
    let fail = |problem: String| TrainError::Plot {
        path: path.to_path_buf(),
        problem,
    };
    let mut buffer = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let image = image::RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| fail("buffer size".into()))?;
    image
        .save(path)
        .map_err(|e| fail(format!("cannot write PNG: {e}")))
}

/// One line of a panel.
struct Line<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
    color: RGBColor,
}

/// One panel of line plots over epochs. With `log_scale` the values are drawn as
/// `log10(v)` on a linear axis labelled with the original values (non-positive values are
/// left out).
fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    (x_name, x_max): (&str, f64),
    lines: &[Line<'_>],
    log_scale: bool,
) -> Result<(), String> {
    let to_axis = |v: f64| if log_scale { v.log10() } else { v };
    let lines: Vec<Line<'_>> = lines
        .iter()
        .map(|l| Line {
            name: l.name,
            points: l
                .points
                .iter()
                .filter(|p| !log_scale || p.1 > 0.0)
                .map(|&(x, y)| (x, to_axis(y)))
                .filter(|p| p.1.is_finite())
                .collect(),
            color: l.color,
        })
        .collect();
    let (mut lo, mut hi) = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < 1e-12 {
        (lo, hi) = (lo - 0.5 * lo.abs().max(1e-3), hi + 0.5 * hi.abs().max(1e-3));
    }
    let pad = (hi - lo) * 0.05;
    let e = |e: plotters::drawing::DrawingAreaErrorKind<_>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 18))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(
            x_min(&lines)..x_max.max(x_min(&lines) + 1.0),
            lo - pad..hi + pad,
        )
        .map_err(e)?;
    let label = |v: &f64| {
        if log_scale {
            format!("{:.1e}", 10f64.powf(*v))
        } else {
            format!("{v:.3}")
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_name)
        .y_label_formatter(&label)
        .label_style((FONT, 12))
        .draw()
        .map_err(e)?;
    for Line {
        name,
        points,
        color,
    } in lines
    {
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

/// Where a panel's x axis starts: 1 for epochs, 0 for anything that starts below 1.
fn x_min(lines: &[Line<'_>]) -> f64 {
    let lowest = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(f64::MAX, f64::min);
    if lowest >= 1.0 { 1.0 } else { 0.0 }
}

/// Loss, metrics and learning rate per epoch, as three stacked panels.
///
/// # Errors
/// [`TrainError::Plot`] when drawing or writing fails.
pub fn training_curves(
    history: &[EpochRecord],
    metric_name: &str,
    path: &Path,
) -> Result<(), TrainError> {
    let epochs = ("epoch", history.last().map_or(1, |r| r.epoch) as f64);
    let series = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch as f64, v)))
            .collect()
    };
    render(path, (900, 900), |root| {
        let panels = root.split_evenly((3, 1));
        panel(
            &panels[0],
            "loss",
            epochs,
            &[
                Line {
                    name: "train",
                    points: series(&|r| Some(r.train_loss)),
                    color: BLUE,
                },
                Line {
                    name: "validation",
                    points: series(&|r| r.valid.loss),
                    color: RED,
                },
            ],
            false,
        )?;
        panel(
            &panels[1],
            metric_name,
            epochs,
            &[
                Line {
                    name: "train accuracy",
                    points: series(&|r| r.train_accuracy),
                    color: BLUE,
                },
                Line {
                    name: "validation",
                    points: series(&|r| Some(r.monitored)),
                    color: RED,
                },
            ],
            false,
        )?;
        panel(
            &panels[2],
            "learning rate (end of epoch)",
            epochs,
            &[Line {
                name: "lr",
                points: series(&|r| Some(r.learning_rate)),
                color: GREEN,
            }],
            true,
        )
    })
}

/// Validation metric of several runs against epochs and against cumulative training
/// hours, one line per run: which models are still improving when the budget ends.
///
/// # Errors
/// [`TrainError::Plot`] when drawing or writing fails.
pub fn comparison_curves(
    runs: &[(String, Vec<EpochRecord>)],
    metric_name: &str,
    path: &Path,
) -> Result<(), TrainError> {
    let lines = |by_time: bool| -> Vec<Line<'_>> {
        runs.iter()
            .enumerate()
            .map(|(i, (name, history))| {
                let mut hours = 0.0;
                Line {
                    name,
                    points: history
                        .iter()
                        .map(|r| {
                            hours += r.train_seconds / 3600.0;
                            (if by_time { hours } else { r.epoch as f64 }, r.monitored)
                        })
                        .collect(),
                    color: {
                        let (r, g, b) = Palette99::pick(i).rgb();
                        RGBColor(r, g, b)
                    },
                }
            })
            .collect()
    };
    let (by_epoch, by_time) = (lines(false), lines(true));
    let max_x = |lines: &[Line<'_>]| {
        lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .fold(1.0, f64::max)
    };
    render(path, (900, 900), |root| {
        let panels = root.split_evenly((2, 1));
        panel(
            &panels[0],
            &format!("validation {metric_name}"),
            ("epoch", max_x(&by_epoch)),
            &by_epoch,
            false,
        )?;
        panel(
            &panels[1],
            &format!("validation {metric_name} over training time"),
            ("training hours", max_x(&by_time)),
            &by_time,
            false,
        )
    })
}

/// A confusion matrix as a heat map (colour = fraction of the true class, text = count),
/// true classes down the side and predictions along the bottom.
///
/// # Errors
/// [`TrainError::Plot`] when drawing or writing fails.
pub fn confusion_matrix(
    rows: &[Vec<u64>],
    class_names: &[&str],
    title: &str,
    path: &Path,
) -> Result<(), TrainError> {
    let k = rows.len() as i32;
    render(path, (760, 720), |root| {
        let e = |e: plotters::drawing::DrawingAreaErrorKind<_>| e.to_string();
        let name = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => class_names
                .get(*i as usize)
                .map_or(String::new(), |s| (*s).to_owned()),
            SegmentValue::Last => String::new(),
        };
        let row_name = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => class_names
                .get((k - 1 - *i) as usize)
                .map_or(String::new(), |s| (*s).to_owned()),
            SegmentValue::Last => String::new(),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("true")
            .x_labels(k as usize)
            .y_labels(k as usize)
            .x_label_formatter(&name)
            .y_label_formatter(&row_name)
            .label_style((FONT, 13))
            .draw()
            .map_err(e)?;
        for (truth, row) in rows.iter().enumerate() {
            let total: u64 = row.iter().sum();
            let y = k - 1 - truth as i32;
            for (predicted, &count) in row.iter().enumerate() {
                let x = predicted as i32;
                let share = if total == 0 {
                    0.0
                } else {
                    count as f64 / total as f64
                };
                let shade = (255.0 * (1.0 - share)) as u8;
                let fill = RGBColor(shade, shade, 255);
                // The segment after the last one is `Last`, not `Exact(k)`.
                let end = |i: i32| {
                    if i + 1 == k {
                        SegmentValue::Last
                    } else {
                        SegmentValue::Exact(i + 1)
                    }
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                            (end(x), end(y)),
                        ],
                        fill.filled(),
                    )))
                    .map_err(e)?;
                let text_color = if share > 0.5 { WHITE } else { BLACK };
                let style = TextStyle::from((FONT, 14).into_font())
                    .color(&text_color)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                chart
                    .draw_series(std::iter::once(Text::new(
                        count.to_string(),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        style,
                    )))
                    .map_err(e)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_curves_draw_every_series() {
        use crate::evaluate::Report;
        let dir = std::env::temp_dir().join(format!("mien-curves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let report: Report = serde_json::from_value(serde_json::json!({
            "n": 10, "label_set": null, "truth": null, "n_labelled": 0, "accuracy": null,
            "macro_f1": null, "per_class": null, "confusion": null, "loss": 1.0,
            "tta": {"flip": false}
        }))
        .unwrap();
        let history: Vec<EpochRecord> = (1..=3)
            .map(|epoch| EpochRecord {
                epoch,
                train_loss: 2.0 / epoch as f64,
                train_accuracy: Some(0.2 * epoch as f64),
                learning_rate: 1e-3 / epoch as f64,
                monitored: 0.1 * epoch as f64,
                valid: report.clone(),
                train_seconds: 1.0,
                data_seconds: 0.1,
                valid_seconds: 0.1,
                faces: 10,
            })
            .collect();
        let path = dir.join("curves.png");
        training_curves(&history, "validation accuracy", &path).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (900, 900));
        let blue = image.pixels().filter(|p| p.0 == [0, 0, 255]).count();
        let green = image.pixels().filter(|p| p.0 == [0, 255, 0]).count();
        assert!(blue > 200 && green > 100, "blue {blue}, green {green}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn confusion_plot_is_a_png_with_colour_where_the_counts_are() {
        let dir = std::env::temp_dir().join(format!("mien-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("confusion.png");
        confusion_matrix(&[vec![9, 1], vec![0, 10]], &["happy", "sad"], "test", &path).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (760, 720));
        // Fully blue cells exist (shares of 0.9 and 1.0), so do dark text pixels.
        let blue = image.pixels().filter(|p| p[2] == 255 && p[0] < 60).count();
        let dark = image
            .pixels()
            .filter(|p| p[0] < 40 && p[1] < 40 && p[2] < 40)
            .count();
        assert!(blue > 10_000, "{blue} strongly blue pixels");
        assert!(dark > 100, "{dark} dark pixels (labels)");
        std::fs::remove_dir_all(&dir).ok();
    }
}
