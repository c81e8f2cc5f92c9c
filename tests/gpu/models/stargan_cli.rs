//! `gantry train stargan` and `gantry translate stargan` as a person types them: the
//! reference's checkpoints through --target and --resume-iters, the test grids of
//! --attr-path, a built-in run, and bad options named in the error.

use crate::common::temp;
use gantry::io::load_safetensors;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan").join(name)
}

fn gantry(args: &[&str]) -> gantry::Result<()> {
    gantry::cli::run(std::iter::once("gantry").chain(args.iter().copied()).map(String::from).collect())
}

/// The fixtures' small generator: --g-conv-dim 4 --g-repeat-num 2, 16 pixels, 5 labels.
const SMALL_G: [&str; 6] = ["--image-size", "16", "--g-conv-dim", "4", "--g-repeat-num", "2"];

#[test]
fn translate_with_a_reference_checkpoint_matches_pytorch() {
    let out = temp("stargan-translate");
    let (weights, input) = (fixture("10-G.ckpt"), fixture("translate_in.png"));
    let mut args = vec!["translate", "stargan", "--weights", weights.to_str().unwrap()];
    args.extend(["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    args.extend(["--target", "0,1,0,1,0"]);
    args.extend(SMALL_G);
    gantry(&args).unwrap();
    let ours = image::open(out.join("translate_in.png")).unwrap().to_rgb8();
    let gold = load_safetensors(fixture("translate_cli.safetensors")).unwrap();
    let y = gold.iter().find(|(n, _)| n == "y").unwrap().1.to_f32(); // (1, 3, 16, 16)
    for (x, yy, p) in ours.enumerate_pixels() {
        for c in 0..3 {
            let v = y[(c * 16 + yy as usize) * 16 + x as usize];
            let want = ((v + 1.0) / 2.0 * 255.0).clamp(0.0, 255.0);
            // The PNG holds truncated values; f32 differences may cross one boundary.
            assert!(
                (f32::from(p.0[c]) - want.trunc()).abs() <= 1.0,
                "pixel ({x}, {yy}) channel {c}: {} vs {want}",
                p.0[c]
            );
        }
    }
}

#[test]
fn translate_with_attr_path_writes_the_reference_test_grids() {
    let dir = temp("stargan-grids");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut attrs = String::from("3\nBlack_Hair Blond_Hair Brown_Hair Male Young\n");
    for (i, values) in ["1 -1 -1 1 1", "-1 1 -1 -1 1", "-1 -1 1 1 -1"].iter().enumerate() {
        std::fs::copy(fixture("translate_in.png"), images.join(format!("{i}.png"))).unwrap();
        attrs.push_str(&format!("{i}.png {values}\n"));
    }
    std::fs::write(dir.join("list_attr_celeba.txt"), attrs).unwrap();
    let out = dir.join("results");
    let weights = fixture("10-G.ckpt");
    let mut args = vec!["translate", "stargan", "--weights", weights.to_str().unwrap()];
    args.extend(["--input", images.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    let attr_path = dir.join("list_attr_celeba.txt");
    args.extend(["--attr-path", attr_path.to_str().unwrap(), "--batch-size", "2", "--crop-size", "16"]);
    args.extend(SMALL_G);
    gantry(&args).unwrap();
    // Three test images in batches of 2: two grids, of 2 and 1 rows, each [x + 5 targets].
    let first = image::open(out.join("1-images.jpg")).unwrap();
    let second = image::open(out.join("2-images.jpg")).unwrap();
    assert!(!out.join("3-images.jpg").exists());
    assert_eq!(first.width(), second.width());
    assert!(first.height() > second.height());
    assert_eq!(image::ImageFormat::from_path(out.join("1-images.jpg")).unwrap(), image::ImageFormat::Jpeg);
}

#[test]
fn resume_iters_continues_from_reference_checkpoints() {
    let run = temp("stargan-resume-iters");
    let dir = run.join("experiment");
    std::fs::create_dir_all(&dir).unwrap();
    for net in ["G", "D"] {
        std::fs::copy(fixture(&format!("10-{net}.ckpt")), dir.join(format!("10-{net}.ckpt"))).unwrap();
    }
    let cd = run.to_str().unwrap();
    let small = ["--g-conv-dim", "4", "--g-repeat-num", "2", "--d-conv-dim", "4", "--d-repeat-num", "3"];
    let mut args =
        vec!["train", "stargan", "--checkpoints-dir", cd, "--builtin-images", "8", "--batch-size", "2"];
    args.extend(small);
    // The fixtures' discriminator was built for 16 pixels: at 32 the error says so.
    let mut wrong = args.clone();
    wrong.extend(["--image-size", "32", "--resume-iters", "10", "--num-iters", "12"]);
    let msg = gantry(&wrong).unwrap_err().to_string();
    assert!(msg.contains("trained at --image-size 16") && msg.contains("10-D.ckpt"), "{msg}");
    args.extend([
        "--image-size",
        "16",
        "--resume-iters",
        "10",
        "--num-iters",
        "12",
        "--model-save-step",
        "1",
    ]);
    gantry(&args).unwrap();
    assert!(dir.join("11_net_G.safetensors").is_file() && dir.join("12_net_D.safetensors").is_file());
    assert!(!dir.join("10_net_G.safetensors").exists(), "iterations 1..10 were not trained again");
    let log = std::fs::read_to_string(dir.join("loss_log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
}

#[test]
fn builtin_run_trains_samples_saves_and_scores() {
    let run = temp("stargan-builtin");
    let cd = run.to_str().unwrap();
    let mut args =
        vec!["train", "stargan", "--checkpoints-dir", cd, "--builtin-images", "8", "--batch-size", "2"];
    args.extend(["--num-iters", "4", "--sample-step", "2", "--model-save-step", "2", "--n-critic", "2"]);
    gantry(&args).unwrap();
    let dir = run.join("experiment");
    for file in
        ["web/images/2-images.png", "web/images/4-images.png", "2_net_G.safetensors", "4_net_D.safetensors"]
    {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let opts = std::fs::read_to_string(dir.join("train_opt.txt")).unwrap();
    assert!(opts.contains("selected_attrs: Black_Hair Blond_Hair Brown_Hair Male Young"), "{opts}");
    assert!(opts.contains("celeba_image_dir: built-in"), "{opts}");
}

#[test]
fn bad_stargan_options_name_the_culprit() {
    let run = temp("stargan-bad");
    let cd = run.to_str().unwrap();
    let weights = fixture("10-G.ckpt");
    let input = fixture("translate_in.png");
    let translate = |extra: &[&str]| {
        let mut args = vec!["translate", "stargan", "--weights", weights.to_str().unwrap()];
        args.extend(["--input", input.to_str().unwrap(), "--output", cd]);
        args.extend(extra);
        gantry(&args).unwrap_err().to_string()
    };
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "stargan", "--checkpoints-dir", cd];
        args.extend(extra);
        gantry(&args).unwrap_err().to_string()
    };
    for (msg, wanted) in [
        (train(&["--c-dim", "4"]), "--c-dim is 4"),
        (train(&["--selected-attrs", "Black_Hair", "Smiling", "--c-dim", "2"]), "built-in set draws only"),
        (train(&["--attr-path", "x.txt"]), "--celeba-image-dir and --attr-path"),
        (train(&["--dataset", "RaFD", "--attr-path", "x.txt"]), "--rafd-image-dir"),
        (train(&["--image-size", "40"]), "--image-size 40 is not a multiple of 2^4"),
        (train(&["--resume-iters", "5", "--continue-train"]), "not both"),
        (
            train(&["--resume-iters", "7", "--builtin-images", "8"]),
            "7_net_G.safetensors (or .pth, or 7-G.ckpt)",
        ),
        (train(&["--dataset", "celebb"]), "--dataset"),
        (translate(&["--target", "1,0"]), "5 values of 0 or 1"),
        (translate(&["--target", "1,0,0,1,1", "--attr-path", "x"]), "not both"),
        (translate(&[]), "give --target"),
        (translate(&["--dataset", "RaFD", "--c-dim", "3", "--target", "3"]), "one of 0..2"),
        (translate(&["--target", "1,0,0,1,1", "--image-size", "16"]), "--g-conv-dim 64"),
        (
            translate(&[
                "--target",
                "1,0,0,1,1",
                "--image-size",
                "18",
                "--g-conv-dim",
                "4",
                "--g-repeat-num",
                "2",
            ]),
            "multiples of 4",
        ),
    ] {
        assert!(msg.contains(wanted), "{wanted:?} not in: {msg}");
    }
}

/// Two inputs with one stem (`a.png`, `a.jpg`) get one output each, never one over the other.
#[test]
fn inputs_sharing_a_stem_get_outputs_of_their_own() {
    let dir = temp("stargan-stems");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(fixture("translate_in.png"), input.join("a.png")).unwrap();
    image::open(fixture("translate_in.png")).unwrap().to_rgb8().save(input.join("a.jpg")).unwrap();
    let (weights, out) = (fixture("10-G.ckpt"), dir.join("out"));
    let mut args = vec!["translate", "stargan", "--weights", weights.to_str().unwrap()];
    args.extend([
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--target",
        "1,0,0,0,1",
    ]);
    args.extend(SMALL_G);
    gantry(&args).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a_jpg.png", "a_png.png"]);
}
