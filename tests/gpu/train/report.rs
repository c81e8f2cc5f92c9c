//! What a run shows a person: labelled, enlarged sample grids; the loss plot (SVG and PNG)
//! and the run's web page; the plain progress line written when stderr is not a terminal.

use crate::common::device;
use gantry::train::grid::{self, LABEL_BAND, LABEL_SCALE, MARGIN, SPACING};
use gantry::train::progress::{duration, plain_line};
use gantry::train::report::{self, History, MAX_POINTS};
use gantry::Tensor;
use image::RgbImage;
use std::path::PathBuf;
use std::time::Duration;

/// Values whose bytes are exact under (x + 1) / 2 · 255 truncated: 0, 63, 127, 191, 255.
const LEVELS: [f32; 5] = [-1.0, -0.5, 0.0, 0.5, 1.0];
const BYTES: [u8; 5] = [0, 63, 127, 191, 255];

/// The level index of pixel (x, y) in channel c: neighbours differ, so a smoothing filter
/// or an off-by-one in the enlargement shows.
fn level(c: usize, y: usize, x: usize) -> usize {
    (x + 2 * y + 3 * c) % LEVELS.len()
}

fn pattern(shape: &[usize]) -> Tensor {
    let (c, h, w) = (shape[shape.len() - 3], shape[shape.len() - 2], shape[shape.len() - 1]);
    let data: Vec<f32> = (0..c * h * w).map(|i| LEVELS[level(i / (h * w), i / w % h, i % w)]).collect();
    Tensor::from_slice(&device(), &data, shape).unwrap()
}

/// Checks that the image at (x0, y0) of the grid is the pattern of a `c`-channel `h`×`w`
/// image enlarged `k` times, pixel for pixel.
fn assert_enlarged(grid: &RgbImage, (x0, y0): (u32, u32), c: usize, (h, w): (usize, usize), k: u32) {
    for y in 0..h as u32 * k {
        for x in 0..w as u32 * k {
            let (sy, sx) = ((y / k) as usize, (x / k) as usize);
            let want: [u8; 3] = std::array::from_fn(|ch| BYTES[level(if c == 1 { 0 } else { ch }, sy, sx)]);
            assert_eq!(
                grid.get_pixel(x0 + x, y0 + y).0,
                want,
                "pixel ({x}, {y}) of the image at ({x0}, {y0})"
            );
        }
    }
}

fn dark_pixels(grid: &RgbImage, (x0, y0): (u32, u32), (w, h): (u32, u32)) -> usize {
    (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .filter(|&(x, y)| grid.get_pixel(x, y).0.iter().all(|&v| v < 100))
        .count()
}

#[test]
fn grid_enlarges_by_whole_factors_and_labels_each_image() {
    let rows = vec![
        vec![
            ("real_A".to_string(), pattern(&[1, 3, 16, 16])),
            ("mask".to_string(), pattern(&[1, 1, 16, 16])),
        ],
        vec![("fake_B".to_string(), pattern(&[3, 40, 24])), ("big".to_string(), pattern(&[1, 1, 150, 20]))],
    ];
    let g = grid::render(&rows).unwrap();
    // Row 0: two 16-pixel images enlarged 8 times to 128. Row 1: 40 pixels high enlarged 4
    // times (160 × 96), and 150 pixels high kept as it is, its cell as wide as "big".
    let big_label = (3 * 6 - 1) * LABEL_SCALE;
    let row0 = (128 + SPACING + 128, LABEL_BAND + 128);
    let row1 = (96 + SPACING + big_label, LABEL_BAND + 160);
    assert_eq!(g.dimensions(), (2 * MARGIN + row0.0.max(row1.0), 2 * MARGIN + row0.1 + SPACING + row1.1));
    let top0 = MARGIN + LABEL_BAND;
    let top1 = MARGIN + row0.1 + SPACING + LABEL_BAND;
    let images = [
        ((MARGIN, top0), 3, (16, 16), 8),
        ((MARGIN + 128 + SPACING, top0), 1, (16, 16), 8),
        ((MARGIN, top1), 3, (40, 24), 4),
        ((MARGIN + 96 + SPACING, top1), 1, (150, 20), 1),
    ];
    for (at, c, hw, k) in images {
        assert_enlarged(&g, at, c, hw, k);
        let band = (at.0, at.1 - LABEL_BAND);
        assert!(
            dark_pixels(&g, band, (20, LABEL_BAND)) > 20,
            "the label above the image at {at:?} is missing"
        );
    }
    // The margin above the first band and the gap between rows hold no ink.
    assert_eq!(dark_pixels(&g, (0, 0), (g.width(), MARGIN)), 0);
    assert_eq!(dark_pixels(&g, (0, MARGIN + row0.1), (g.width(), SPACING)), 0);
}

#[test]
fn grid_names_the_image_it_cannot_show() {
    let rows = vec![vec![("two_channels".to_string(), pattern(&[1, 2, 8, 8]))]];
    let msg = grid::render(&rows).unwrap_err().to_string();
    assert!(msg.contains("two_channels") && msg.contains("[1, 2, 8, 8]"), "{msg}");
    assert!(grid::render(&[]).is_err());
}

#[test]
fn grid_saves_a_png_that_reads_back_identical() {
    let dir = temp("grid");
    let rows = vec![vec![("x".to_string(), pattern(&[1, 3, 8, 8]))]];
    let path = dir.join("grid.png");
    grid::save(&path, &rows).unwrap();
    assert_eq!(image::open(&path).unwrap().to_rgb8(), grid::render(&rows).unwrap());
    std::fs::remove_dir_all(dir).ok();
}

fn temp(name: &str) -> PathBuf {
    let dir = crate::common::temp(&format!("report-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn history(points: &[(usize, f32, f32)]) -> History {
    points.iter().map(|&(s, d, g)| (s, vec![("D_A".to_string(), d), ("G_A".to_string(), g)])).collect()
}

/// The text of every `<text>` element, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].trim().to_string())
        .collect()
}

#[test]
fn loss_svg_has_axes_ticks_and_a_legend_and_skips_non_finite_values() {
    let h = history(&[(100, 1.0, 2.0), (200, 0.8, f32::INFINITY), (300, f32::NAN, 1.5), (400, 0.5, 1.2)]);
    let svg = report::loss_svg(&h);
    let texts = svg_texts(&svg);
    for caption in ["step", "loss", "D_A", "G_A"] {
        assert!(texts.iter().any(|t| t == caption), "no {caption:?} in {texts:?}");
    }
    let numbers: Vec<f64> = texts.iter().filter_map(|t| t.parse().ok()).collect();
    assert!(numbers.iter().filter(|&&v| (100.0..=400.0).contains(&v)).count() >= 3, "step ticks: {texts:?}");
    assert!(numbers.iter().filter(|&&v| (0.0..=2.5).contains(&v)).count() >= 3, "loss ticks: {texts:?}");
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "a non-finite value reached the SVG");
    for colour in ["#1F77B4", "#FF7F0E"] {
        let marks = svg.matches(&format!("stroke=\"{colour}\"")).count();
        assert_eq!(marks, 2, "{colour}: a line and its legend mark, not {marks}");
    }
}

#[test]
fn loss_svg_draws_empty_and_all_nan_histories() {
    for h in [Vec::new(), history(&[(1, f32::NAN, f32::NAN)])] {
        let texts = svg_texts(&report::loss_svg(&h));
        for caption in ["step", "loss", "no finite losses yet"] {
            assert!(texts.iter().any(|t| t == caption), "no {caption:?} in {texts:?}");
        }
    }
}

#[test]
fn loss_svg_keeps_long_histories_small() {
    let h: History = (1..=300_000)
        .map(|s| (s, vec![("D".to_string(), 1.0 / s as f32), ("G".to_string(), (s % 7) as f32)]))
        .collect();
    let svg = report::loss_svg(&h);
    for line in svg.split("<polyline").skip(1) {
        let points = line.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(
            points.split_whitespace().count() <= MAX_POINTS,
            "a series kept more than {MAX_POINTS} points"
        );
    }
    assert!(svg.len() < 250_000, "the SVG is {} bytes", svg.len());
}

#[test]
fn html_inlines_the_plot_and_lists_grids_newest_first() {
    let dir = temp("html");
    let images = dir.join("web").join("images");
    std::fs::create_dir_all(&images).unwrap();
    for name in ["epoch001_iter000100.png", "epoch002_iter000200.png"] {
        std::fs::write(images.join(name), b"png").unwrap();
    }
    report::html(&dir, "run <1>", &history(&[(1, 0.5, 0.7), (2, 0.4, 0.6)])).unwrap();
    let page = std::fs::read_to_string(dir.join("web").join("index.html")).unwrap();
    assert!(page.contains("<title>run &lt;1&gt;</title>"), "the run name is not escaped");
    assert!(page.contains("<svg") && page.contains(">\nD_A\n<"), "the plot is not inline");
    let (newer, older) =
        (page.find("epoch002_iter000200.png").unwrap(), page.find("epoch001_iter000100.png").unwrap());
    assert!(newer < older, "grids are not newest first");
    assert_eq!(
        std::fs::read_to_string(dir.join("web").join("loss.svg")).unwrap(),
        report::loss_svg(&history(&[(1, 0.5, 0.7), (2, 0.4, 0.6)]))
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn loss_png_draws_lines_and_text() {
    let dir = temp("png");
    let path = dir.join("loss.png");
    report::plot_png(&history(&[(1, 1.0, 2.0), (50, 0.5, 1.0), (100, 0.25, 0.5)]), &path).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 360));
    // The first two series colours and black text (tick labels, captions, legend).
    for colour in [[31, 119, 180], [255, 127, 14], [0, 0, 0]] {
        let n = img.pixels().filter(|p| p.0 == colour).count();
        assert!(n > 100, "only {n} pixels of {colour:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn plain_progress_line_shows_step_epoch_rate_eta_and_losses() {
    let losses = vec![("D_A".to_string(), 0.2513), ("G_A".to_string(), 0.98), ("idt".to_string(), 2.5e-5)];
    let eta = Some(Duration::from_secs(20 * 60 + 26));
    assert_eq!(
        plain_line(200, 4000, Some((2, 20)), 3.12, eta, &losses),
        "step 200/4000 (epoch 2/20) 3.1 steps/s ETA 20m 26s | D_A 0.251 G_A 0.980 idt 2.50e-5"
    );
    assert_eq!(
        plain_line(7, 10, None, 0.456, None, &losses[..1]),
        "step 7/10 0.46 steps/s ETA ? | D_A 0.251"
    );
    // The first step of a session compiles kernels: no rate is claimed from it.
    assert_eq!(plain_line(1, 10, None, 0.0, None, &losses[..1]), "step 1/10 ? steps/s ETA ? | D_A 0.251");
    assert_eq!(duration(Duration::from_secs(45)), "45s");
    assert_eq!(duration(Duration::from_secs(3 * 3600 + 5 * 60 + 9)), "3h 05m");
    assert_eq!(duration(Duration::from_secs(2 * 86_400 + 7 * 3600)), "2d 07h");
}
