//! `gantry::io::resize` against PIL's `Image.resize`, with the goldens written by
//! tests/reference/make_resize.py. Host-only: no GPU device is opened.

use gantry::io::image::resize_to;
use gantry::io::resize::{resize, Filter};
use gantry::io::{parse_safetensors, HostData, NamedTensors};
use gantry::Error;
use image::RgbImage;

fn goldens() -> NamedTensors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/resize.safetensors");
    let bytes = std::fs::read(path).expect("run tests/reference/make_resize.py to write the fixture");
    parse_safetensors(&bytes).expect("the fixture parses")
}

/// A stored uint8 [height, width, 3] tensor as an image.
fn image_of(goldens: &NamedTensors, name: &str) -> RgbImage {
    let (_, t) = goldens.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no tensor {name}"));
    assert_eq!(t.dtype, "U8", "{name}");
    let HostData::I64(v) = &t.data else { panic!("{name}: integers expected") };
    let [h, w, 3] = t.shape[..] else { panic!("{name}: shape {:?} is not [h, w, 3]", t.shape) };
    RgbImage::from_raw(w as u32, h as u32, v.iter().map(|&x| x as u8).collect()).unwrap()
}

/// Every stored case of one filter: (name, source image name, target width, target height).
fn cases(goldens: &NamedTensors, filter: &str) -> Vec<(String, String, u32, u32)> {
    let cases: Vec<_> = goldens
        .iter()
        .filter_map(|(name, _)| {
            let [image, f, size] = name.split('/').collect::<Vec<_>>()[..] else { return None };
            let (w, h) = size.split_once('x').unwrap_or_else(|| panic!("{name}: size is not WxH"));
            let px = |v: &str| v.parse().unwrap_or_else(|_| panic!("{name}: size is not WxH"));
            (f == filter).then(|| (name.clone(), format!("{image}/input"), px(w), px(h)))
        })
        .collect();
    assert!(cases.len() >= 16, "{filter}: only {} cases in the fixture", cases.len());
    cases
}

/// The largest difference from PIL over every case of `filter`, after checking each case's
/// size; prints the worst case so a failure says where to look.
fn worst_difference(filter: Filter, name: &str) -> u8 {
    let goldens = goldens();
    let mut worst = (0u8, String::new());
    for (case, input, w, h) in cases(&goldens, name) {
        let ours = resize(&image_of(&goldens, &input), w, h, filter).unwrap();
        let theirs = image_of(&goldens, &case);
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{case}");
        let diff = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        if diff > worst.0 {
            worst = (diff, case);
        }
    }
    if worst.0 > 0 {
        eprintln!("{name}: largest difference {} in {}", worst.0, worst.1);
    }
    worst.0
}

// Every case (up 2.3×, down 3.1×, non-integer factors, one axis up and one down, 1-pixel
// targets) is bit-exact: the observed maximum difference is 0, so exactness is asserted.
// Every case that resizes both axes (1-pixel-wide ones aside) also pins the order of the
// passes: running them in the other order misses PIL by 7 to 22 grey levels (bicubic) or
// 1 (bilinear).

#[test]
fn bicubic_matches_pil_exactly() {
    assert_eq!(worst_difference(Filter::Bicubic, "bicubic"), 0);
}

#[test]
fn bilinear_matches_pil_exactly() {
    assert_eq!(worst_difference(Filter::Bilinear, "bilinear"), 0);
}

#[test]
fn nearest_matches_pil_exactly() {
    assert_eq!(worst_difference(Filter::Nearest, "nearest"), 0);
}

/// `resize_to`, which the data loaders and `translate` call, is PIL's bicubic.
#[test]
fn resize_to_is_pil_bicubic() {
    let goldens = goldens();
    let src = image_of(&goldens, "small/input");
    assert_eq!(resize_to(src.clone(), 85, 53), image_of(&goldens, "small/bicubic/85x53"));
    assert_eq!(resize_to(src.clone(), 12, 7), image_of(&goldens, "small/bicubic/12x7"));
    assert_eq!(resize_to(src.clone(), 37, 23), src, "the same size returns the image as it is");
}

#[test]
fn an_empty_size_is_an_error_naming_both_sizes() {
    let img = RgbImage::new(4, 3);
    for (source, w, h) in [(&img, 0, 5), (&img, 5, 0), (&RgbImage::new(0, 3), 2, 2)] {
        for filter in [Filter::Nearest, Filter::Bilinear, Filter::Bicubic] {
            let err = resize(source, w, h, filter).unwrap_err();
            assert!(matches!(err, Error::Invalid { op: "resize", .. }), "{err:?}");
            let (sw, sh) = source.dimensions();
            assert!(err.to_string().contains(&format!("{sw}×{sh} image to {w}×{h}")), "{err}");
        }
    }
}
