//! FastGAN's training iteration against train.py re-declared in PyTorch
//! (tests/reference/make_fastgan.py), every random draw supplied: three iterations from
//! fixed weights (losses, every parameter, BatchNorm statistic, spectral-norm vector and EMA
//! parameter after), a fourth after resuming from the reference's all_2.pth, and images
//! sampled from the reference's 2.pth and all_2.pth in both modes.

use super::fastgan::{every, fine, gold, maps, path, under, Gold, DEC, FORWARD, NGF, NZ};
use crate::common::{device, Tol};
use crate::models::cyclegan::TRAIN;
use crate::models::parity::assert_iterations_match;
use gantry::models::fastgan::reference::{load_generator, resume};
use gantry::models::fastgan::{Draws, FastGan, FastGanOptions, Reconstruction};
use gantry::models::{GanModel, Length, Step, Visuals};
use gantry::nn::diffaug::AugmentDraws;
use gantry::nn::{Module, ModuleExt};
use gantry::optim::Adam;
use gantry::{Device, Tensor};

fn options() -> FastGanOptions {
    FastGanOptions {
        im_size: 256,
        ngf: NGF,
        ndf: NGF,
        nz: NZ,
        dec_nf: DEC,
        iter: 4,
        ..FastGanOptions::default()
    }
}

fn augment(gold: &Gold, prefix: &str) -> AugmentDraws {
    let v = |k: &str| gold[&format!("{prefix}.{k}")].to_f32();
    let (tx, ty) = (v("tx"), v("ty"));
    AugmentDraws {
        brightness: v("r_b"),
        saturation: v("r_s"),
        contrast: v("r_c"),
        translation: tx.iter().zip(&ty).map(|(&x, &y)| (x as i32, y as i32)).collect(),
        cutout: Vec::new(),
    }
}

fn draws(d: &Device, gold: &Gold, it: usize) -> Draws {
    let p = format!("it{it}.");
    let t = |k: &str| gold[&format!("{p}{k}")].to_tensor(d).unwrap();
    Draws {
        z: t("z"),
        maps: Some(maps(d, gold, &p, 256)),
        aug_real: augment(gold, &format!("{p}aug_real")),
        aug_fake: [augment(gold, &format!("{p}aug_fake0")), augment(gold, &format!("{p}aug_fake1"))],
        part: gold[&format!("{p}part")].to_f32()[0] as usize,
        margin_real: t("margin_real"),
        margin_fake: t("margin_fake"),
    }
}

/// A FastGAN whose steps take the PyTorch script's draws.
struct Replayed {
    model: FastGan,
    gold: Gold,
}

impl GanModel for Replayed {
    type Batch = Tensor;
    fn length(&self) -> Length {
        self.model.length()
    }
    fn train_step(&mut self, real: &Tensor, at: Step) -> gantry::Result<Vec<(&'static str, f32)>> {
        let dr = draws(&real.device().clone(), &self.gold, at.index);
        self.model.train_step_with(real, dr)
    }
    fn visuals(&self) -> Visuals {
        self.model.visuals()
    }
    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        self.model.networks()
    }
    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        self.model.optimizers()
    }
}

/// Parameters after a few Adam steps: every step moves each weight by up to lr, and a
/// rounding difference in a gradient near zero can flip its direction.
fn weight_tol(_: &str, entry: &str) -> Tol {
    if entry.ends_with("num_batches_tracked") {
        return Tol { atol: 0.0, rtol: 0.0 };
    }
    TRAIN
}

fn fresh(d: &Device) -> FastGan {
    FastGan::build(d, options(), Reconstruction::L1, 1).unwrap()
}

#[test]
fn three_iterations_match_pytorch() {
    let d = device();
    let gold = gold("train.safetensors");
    let model = fresh(&d);
    model.g.load_state_dict(&under(&gold, "init.G.")).unwrap();
    model.d.load_state_dict(&under(&gold, "init.D.")).unwrap();
    let model = FastGan::new(model.g, model.d, options(), Reconstruction::L1, 1).unwrap();
    let real = fine(&d, &gold["real"], 256);
    let mut replayed = Replayed { model, gold: gold.clone() };
    // PyTorch's EMA list is keyed by G's parameter names; ours also lists G's buffers.
    let mut golden = gold.clone();
    for (name, _) in replayed.model.g.state_dict() {
        golden
            .entry(format!("after.G_ema.{name}"))
            .or_insert_with(|| gold[&format!("after.G.{name}")].clone());
    }
    golden.retain(|k, _| !k.starts_with("after4.") && !k.starts_with("it3."));
    assert_iterations_match(
        &mut replayed,
        &golden,
        3,
        |_| real.clone(),
        |index| Step { index, epoch: 1 },
        weight_tol,
    );
    let rows = replayed.model.visuals();
    assert_eq!(rows.len(), 2 + 2, "two rows of EMA samples, then one per real image");
    assert_eq!(
        rows[2].iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["real", "rec big", "rec small", "rec part"]
    );
}

#[test]
fn a_reference_all_checkpoint_resumes_with_its_optimizers_and_ema() {
    let d = device();
    let gold = gold("train.safetensors");
    let mut model = fresh(&d);
    let it = resume(&mut model, &path("all_2.pth"), &d).unwrap();
    assert_eq!(it, 2, "the iteration comes from the file name");
    let real = fine(&d, &gold["real"], 256);
    let losses = model.train_step_with(&real, draws(&d, &gold, 3)).unwrap();
    for (name, value) in losses {
        let want = gold[&format!("it3.loss.{name}")].to_f32()[0];
        assert!((value - want).abs() <= 1e-5 + 1e-4 * want.abs(), "loss {name} = {value}, PyTorch {want}");
    }
    super::fastgan::check_state("G after the resumed step", &model.g, &gold, "after4.G.", TRAIN);
    super::fastgan::check_state("D after the resumed step", &model.d, &gold, "after4.D.", TRAIN);
    let ema_names: Vec<String> = model.g.state_dict().into_iter().map(|(n, _)| n).collect();
    let params = model.g_ema.parameters();
    let mut k = 0;
    for (name, t) in model.g_ema.state_dict() {
        if let Some(want) = gold.get(&format!("after4.G_ema.{name}")) {
            super::fastgan::check(&format!("EMA {name}"), &t, want, TRAIN);
            k += 1;
        }
    }
    assert_eq!(k, params.len(), "every EMA parameter checked ({} entries in G)", ema_names.len());
}

#[test]
fn reference_checkpoints_sample_as_pytorch_in_both_modes() {
    let d = device();
    let gold = gold("sample.safetensors");
    let z = gold["z"].to_tensor(&d).unwrap();
    for file in ["2.pth", "all_2.pth"] {
        for mode in ["train", "eval"] {
            let g = load_generator(&d, &path(file)).unwrap();
            assert_eq!((g.im_size, g.nz), (256, NZ));
            g.set_training(mode == "train");
            let (big, _) = g.forward_with_noise(&z, maps(&d, &gold, "", 256)).unwrap();
            super::fastgan::check(
                &format!("{file} {mode}"),
                &every(&big, 4),
                &gold[&format!("{mode}.big")],
                FORWARD,
            );
        }
    }
}
