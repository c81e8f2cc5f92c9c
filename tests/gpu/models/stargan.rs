//! StarGAN v1 against yunjey/stargan re-declared in PyTorch (tests/reference/make_stargan.py):
//! the networks' names, counts and outputs, the classification head's image size, the
//! gradient penalty to second order, ten training iterations for CelebA- and RaFD-style
//! labels (three for Both), the learning-rate schedule, translation with a legacy
//! checkpoint, and an exact resume of the model's own random draws.

use crate::common::{assert_values, device, Tol, EXACTISH};
use crate::models::cyclegan::TRAIN;
use crate::models::image2image::NETS;
use crate::models::parity::assert_iterations_match;
use gantry::io::{load_any, load_safetensors, HostTensor, NamedTensors};
use gantry::models::stargan::labels::{DomainBatch, Draws, Labels, StarGanBatch};
use gantry::models::stargan::losses::{gradient_penalty, reference_lr};
use gantry::models::stargan::{
    load_generator, translate, Dataset, Discriminator, Generator, StarGan, StarGanOptions,
};
use gantry::models::{GanModel, Length, Step, Visuals};
use gantry::nn::{Module, ModuleExt};
use gantry::optim::Adam;
use gantry::{Device, Tensor};
use std::collections::HashMap;
use std::path::PathBuf;

type Gold = HashMap<String, HostTensor>;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan").join(name)
}

fn gold(name: &str) -> Gold {
    load_safetensors(path(name)).unwrap().into_iter().collect()
}

/// The entries of `gold` under `prefix`, named without it.
fn under(gold: &Gold, prefix: &str) -> NamedTensors {
    gold.iter().filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone()))).collect()
}

fn ints(t: &HostTensor) -> Vec<usize> {
    t.as_ints().expect("an integer tensor").iter().map(|&i| i as usize).collect()
}

fn check(what: &str, actual: &Tensor, want: &HostTensor, tol: Tol) {
    assert_values(what, &actual.to_vec().unwrap(), actual.shape(), &want.to_f32(), &want.shape, tol);
}

/// The fixtures' small networks: G(conv 4, repeat 2), D(16 px, conv 4, repeat 3), c_dim 5.
fn small(dataset: Dataset) -> StarGanOptions {
    StarGanOptions {
        dataset,
        c2_dim: 3,
        image_size: 16,
        g_conv_dim: 4,
        d_conv_dim: 4,
        g_repeat_num: 2,
        d_repeat_num: 3,
        n_critic: 3,
        num_iters: 10,
        num_iters_decay: 6,
        lr_update_step: 2,
        ..StarGanOptions::default()
    }
}

/// G and D loaded from the reference-format checkpoints 10-G.ckpt and 10-D.ckpt.
fn reference_nets(d: &Device) -> (Generator, Discriminator) {
    let o = small(Dataset::CelebA);
    let (g, disc) = (o.generator(d).unwrap(), o.discriminator(d).unwrap());
    g.load_state_dict(&load_any(path("10-G.ckpt"), None).unwrap()).unwrap();
    disc.load_state_dict(&load_any(path("10-D.ckpt"), None).unwrap()).unwrap();
    (g, disc)
}

#[test]
fn networks_have_the_reference_names_and_parameter_counts() {
    let d = device();
    let nets = gold("nets.safetensors");
    let count = |k: &str| nets[&format!("count.{k}")].as_ints().unwrap()[0] as usize;
    for (dataset, suffix) in [(Dataset::CelebA, ""), (Dataset::Both, "_both")] {
        let o = StarGanOptions { dataset, ..StarGanOptions::default() };
        let (g, disc) = (o.generator(&d).unwrap(), o.discriminator(&d).unwrap());
        assert_eq!(g.parameter_count(), count(&format!("G{suffix}")), "G, {dataset:?}");
        assert_eq!(disc.parameter_count(), count(&format!("D{suffix}")), "D, {dataset:?}");
    }
    assert_eq!((count("G"), count("D")), (8_430_528, 44_762_048), "the counts of architectures.md §3");
    // Every key of the reference's files, and only those: theirs lack num_batches_tracked
    // (PyTorch 0.3 wrote none), which our norms carry.
    let (g, disc) = reference_nets(&d);
    for (net, file) in [(&g as &dyn Module, "10-G.ckpt"), (&disc, "10-D.ckpt")] {
        let mut ours: Vec<String> = net
            .state_dict()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !n.ends_with("num_batches_tracked"))
            .collect();
        let mut theirs: Vec<String> =
            load_any(path(file), None).unwrap().into_iter().map(|(n, _)| n).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{file}");
    }
    assert!(g.state_dict().iter().any(|(n, _)| n == "main.9.main.1.running_var"), "a residual block's norm");
    let heads: Vec<String> = disc.state_dict().into_iter().map(|(n, _)| n).skip(6).collect();
    assert_eq!(heads, ["conv1.weight", "conv2.weight"]);
}

#[test]
fn generator_and_discriminator_match_pytorch() {
    let d = device();
    let nets = gold("nets.safetensors");
    let t = |k: &str| nets[k].to_tensor(&d).unwrap();
    let (g, disc) = reference_nets(&d);
    // Training mode, as the reference: the output uses each image's statistics, and the
    // running statistics move (and the counter that the legacy file lacked starts at 0).
    let y = gantry::no_grad(|| g.forward(&t("g.x"), &t("g.c"))).unwrap();
    check("G(x, c) on 16x12 images", &y, &nets["g.y"], NETS);
    for (name, buffer) in
        g.state_dict().into_iter().filter(|(n, _)| n.contains("running") || n.contains("num_batches"))
    {
        check(&format!("G {name} after one forward"), &buffer, &nets[&format!("g.after.{name}")], EXACTISH);
    }
    let (src, cls) = gantry::no_grad(|| disc.forward(&t("d16.x"))).unwrap();
    check("D_src at 16 px", &src, &nets["d16.src"], NETS);
    check("D_cls at 16 px (2x2 kernel)", &cls, &nets["d16.cls"], NETS);
    let d32 = Discriminator::new(&d, 32, 4, 5, 3).unwrap();
    d32.load_state_dict(&under(&nets, "d32.w.")).unwrap();
    assert_eq!(d32.conv2.weight.shape(), [5, 16, 4, 4]);
    let (src, cls) = gantry::no_grad(|| d32.forward(&t("d32.x"))).unwrap();
    check("D_src at 32 px", &src, &nets["d32.src"], NETS);
    check("D_cls at 32 px (4x4 kernel)", &cls, &nets["d32.cls"], NETS);
}

#[test]
fn a_discriminator_of_another_image_size_says_which() {
    let d = device();
    let d32 = Discriminator::new(&d, 32, 4, 5, 3).unwrap();
    let msg = d32.load_state_dict(&load_any(path("10-D.ckpt"), None).unwrap()).unwrap_err().to_string();
    assert!(msg.contains("trained at --image-size 16"), "{msg}");
    assert!(msg.contains("for --image-size 32"), "{msg}");
    assert!(!msg.contains("[5, 32, 2, 2]"), "no shape dump: {msg}");
    let msg = Discriminator::new(&d, 20, 4, 5, 3).err().unwrap().to_string();
    assert!(msg.contains("--image-size 20 is not a multiple of 2^3"), "{msg}");
    let o = StarGanOptions { image_size: 100, ..StarGanOptions::default() };
    assert!(o.validate().unwrap_err().to_string().contains("not a multiple of 2^6"));
    let small_images = Tensor::zeros(&d, &[1, 3, 16, 16]).unwrap();
    assert!(d32.forward(&small_images).is_err(), "16 px images into a 32 px discriminator");
}

#[test]
fn gradient_penalty_matches_pytorch_to_second_order() {
    let d = device();
    let gp_gold = gold("gp.safetensors");
    let t = |k: &str| gp_gold[k].to_tensor(&d).unwrap();
    let (_, disc) = reference_nets(&d);
    let alpha = t("alpha").reshape(&[2, 1, 1, 1]).unwrap();
    let x_hat = t("real")
        .mul(&alpha)
        .unwrap()
        .add(&t("fake").mul(&alpha.affine(-1.0, 1.0).unwrap()).unwrap())
        .unwrap()
        .requires_grad_();
    let (src, _) = disc.forward(&x_hat).unwrap();
    let gp = gradient_penalty(&src, &x_hat).unwrap();
    check("gradient penalty", &gp.reshape(&[1]).unwrap(), &gp_gold["gp"], TRAIN);
    let names: Vec<String> = disc.state_dict().into_iter().map(|(n, _)| n).collect();
    let grads = gantry::grad(&[gp], &disc.parameters(), false).unwrap();
    for (name, g) in names.iter().zip(grads) {
        // Weights the penalty reaches only through its gradient's gradient (second order).
        check(&format!("∂GP/∂{name}"), &g, &gp_gold[&format!("grad.{name}")], TRAIN);
    }
}

/// A StarGAN whose steps take the PyTorch script's draws.
struct Replayed {
    model: StarGan,
    draws: Vec<Vec<Draws>>,
}

impl GanModel for Replayed {
    type Batch = StarGanBatch;
    fn length(&self) -> Length {
        self.model.length()
    }
    fn train_step(&mut self, batch: &StarGanBatch, at: Step) -> gantry::Result<Vec<(&'static str, f32)>> {
        self.model.train_step_with(batch, at, &self.draws[at.index])
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

fn draws(gold: &Gold, prefix: &str) -> Draws {
    Draws {
        permutation: ints(&gold[&format!("{prefix}.perm")]),
        alpha: gold[&format!("{prefix}.alpha")].to_f32(),
    }
}

fn labels(d: &Device, t: &HostTensor) -> Labels {
    match t.as_ints() {
        Some(_) => Labels::Classes(ints(t)),
        None => Labels::Attributes(t.to_tensor(d).unwrap()),
    }
}

/// The tolerance of each state-dict entry after training: TRAIN, except where G's first
/// conv's label-channel centre taps reach (see `label_centre_tol`): that weight (whose
/// other values `check_first_conv` holds to TRAIN), and the running mean of the norm after
/// it, which averages the constant those taps add: Σ_k w_k·c_k over the `labels` label
/// channels, so it may differ by up to `labels` times one tap's bound.
fn weight_tol(g_steps: usize, labels: usize) -> impl Fn(&str, &str) -> Tol {
    move |net, entry| match (net, entry) {
        ("G", "main.0.weight") => label_centre_tol(g_steps),
        ("G", "main.1.running_mean") => {
            Tol { atol: labels as f32 * label_centre_tol(g_steps).atol, rtol: 0.0 }
        }
        _ => TRAIN,
    }
}

/// G's first conv sees the label planes, constant over the image. The centre tap of a label
/// channel never reaches the zero padding, so it adds a constant to each output plane, which
/// the instance norm after it removes exactly: that weight's true gradient is zero, each
/// framework hands Adam rounding noise, and Adam moves it about ±lr per G step whatever
/// the noise. Two such walks may differ by 2 · (G steps) · lr, lr = 1e-4.
fn label_centre_tol(g_steps: usize) -> Tol {
    Tol { atol: 2.0 * g_steps as f32 * 1e-4, rtol: 0.0 }
}

/// Every value of G's first conv but the label-channel centre taps, at TRAIN.
fn check_first_conv(g: &Generator, gold: &Gold) {
    let (w, want) = (g.main.layers[0].state_dict().remove(0).1, &gold["after.G.main.0.weight"]);
    let [c_out, c_in, k, _] = w.shape().try_into().unwrap();
    let centre = |i: usize| i % (k * k) == k * k / 2 && (i / (k * k)) % c_in >= 3;
    let keep = |v: Vec<f32>| {
        v.into_iter().enumerate().filter(|(i, _)| !centre(*i)).map(|(_, x)| x).collect::<Vec<_>>()
    };
    let (ours, theirs) = (keep(w.to_vec().unwrap()), keep(want.to_f32()));
    let n = ours.len();
    assert_eq!(n, c_out * (c_in * k * k - (c_in - 3)));
    assert_values("G.main.0.weight, all but the label centre taps", &ours, &[n], &theirs, &[n], TRAIN);
}

/// Ten iterations with n_critic 3 (G steps after iterations 2, 5 and 8) and a schedule
/// that decays the rates by lr0 / 6 after iterations 5, 7 and 9.
fn ten_iterations(dataset: Dataset, fixture: &str) -> StarGan {
    let d = device();
    let (gold, images) = (gold(fixture), gold("images.safetensors"));
    let (g, disc) = reference_nets(&d);
    let mut replayed = Replayed {
        model: StarGan::new(g, disc, small(dataset), 1).unwrap(),
        draws: (0..10).map(|i| vec![draws(&gold, &format!("it{i}"))]).collect(),
    };
    let batch = |i: usize| {
        let images = images[&format!("x{i}")].to_tensor(&d).unwrap();
        StarGanBatch::Single(DomainBatch { images, labels: labels(&d, &gold[&format!("it{i}.label")]) })
    };
    assert_iterations_match(
        &mut replayed,
        &gold,
        10,
        batch,
        |index| Step { index, epoch: 1 },
        weight_tol(3, 5),
    );
    check_first_conv(&replayed.model.g, &gold);
    replayed.model
}

#[test]
fn ten_celeba_iterations_match_pytorch() {
    let model = ten_iterations(Dataset::CelebA, "train_celeba.safetensors");
    // The sample rows: per image, x then one translation per selected attribute.
    let rows = model.visuals();
    assert_eq!(rows.len(), 2, "one row per image of the last batch");
    let names: Vec<&str> = rows[0].iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["x", "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]);
    assert!(rows.iter().flatten().all(|(_, t)| t.shape() == [1, 3, 16, 16]));
}

#[test]
fn ten_rafd_iterations_match_pytorch() {
    let model = ten_iterations(Dataset::RaFD, "train_rafd.safetensors");
    let names: Vec<&str> = model.visuals()[0].iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["x", "class 0", "class 1", "class 2", "class 3", "class 4"]);
}

/// Both: per iteration a CelebA pass (5 attributes) then a RaFD pass (3 classes), with the
/// mask vector; three iterations with n_critic 2, the rate decaying after iteration 1.
#[test]
fn three_both_iterations_match_pytorch() {
    let d = device();
    let (gold, images) = (gold("train_both.safetensors"), gold("images.safetensors"));
    let o = StarGanOptions { n_critic: 2, num_iters: 3, num_iters_decay: 3, ..small(Dataset::Both) };
    let (g, disc) = (o.generator(&d).unwrap(), o.discriminator(&d).unwrap());
    g.load_state_dict(&under(&gold, "init.G.")).unwrap();
    disc.load_state_dict(&under(&gold, "init.D.")).unwrap();
    let passes = ["CelebA", "RaFD"];
    let mut replayed = Replayed {
        model: StarGan::new(g, disc, o, 1).unwrap(),
        draws: (0..3).map(|i| passes.iter().map(|p| draws(&gold, &format!("it{i}.{p}"))).collect()).collect(),
    };
    let pass = |i: usize, k: usize| DomainBatch {
        images: images[&format!("x{}", 2 * i + k)].to_tensor(&d).unwrap(),
        labels: labels(&d, &gold[&format!("it{i}.{}.label", passes[k])]),
    };
    let batch = |i| StarGanBatch::Both { celeba: pass(i, 0), rafd: pass(i, 1) };
    // G steps in both passes of iteration 1.
    assert_iterations_match(
        &mut replayed,
        &gold,
        3,
        batch,
        |index| Step { index, epoch: 1 },
        weight_tol(2, 5 + 3 + 2),
    );
    check_first_conv(&replayed.model.g, &gold);
    let names: Vec<&str> = replayed.visuals()[0].iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), 1 + 5 + 3, "x, the CelebA targets, every RaFD class");
}

#[test]
fn learning_rates_follow_the_reference_schedule_exactly() {
    let lr = gold("lr.safetensors");
    let f64s =
        |k: &str| lr[k].as_ints().unwrap().iter().map(|&b| f64::from_bits(b as u64)).collect::<Vec<_>>();
    for (step, want) in ints(&lr["default.steps"]).into_iter().zip(f64s("default.lr")) {
        assert_eq!(reference_lr(1e-4, step, 200_000, 100_000, 1000), want, "default schedule, step {step}");
    }
    for (step, want) in f64s("short.lr").into_iter().enumerate() {
        assert_eq!(reference_lr(3e-4, step, 40, 25, 3), want, "short schedule, step {step}");
    }
    // The last iteration runs after 99 of the 100 decrements of 1e-9; all 100 remove 1e-7.
    let last = reference_lr(1e-4, 199_999, 200_000, 100_000, 1000);
    assert!((last - (1e-4 - 99e-9)).abs() < 1e-15, "{last}");
    let end = reference_lr(1e-4, 200_000, 200_000, 100_000, 1000);
    assert!((end - 9.99e-5).abs() < 1e-15, "the reference's decay removes only 1e-7: {end}");
}

#[test]
fn a_legacy_checkpoint_translates_as_pytorch() {
    let d = device();
    let nets = gold("nets.safetensors");
    let t = |k: &str| nets[k].to_tensor(&d).unwrap();
    let g = load_generator(&d, &small(Dataset::CelebA), &path("10-G.ckpt")).unwrap();
    let y = translate(&g, &t("translate.x"), &t("translate.c")).unwrap();
    check("translation with 10-G.ckpt", &y, &nets["translate.y"], NETS);
    // create_labels: hair colours one-hot among themselves, other attributes flipped.
    let targets =
        gantry::models::stargan::translate::targets(&small(Dataset::CelebA), &t("labels.celeba.org"))
            .unwrap();
    for (i, c) in targets.iter().enumerate() {
        check(&format!("CelebA target {i}"), c, &nets[&format!("labels.celeba.trg{i}")], EXACTISH);
    }
    let rafd = StarGanOptions { c_dim: 4, ..small(Dataset::RaFD) };
    let targets = gantry::models::stargan::translate::targets(&rafd, &t("labels.celeba.org")).unwrap();
    assert_eq!(targets.len(), 4);
    for (i, c) in targets.iter().enumerate() {
        check(&format!("RaFD target {i}"), c, &nets[&format!("labels.rafd.trg{i}")], EXACTISH);
    }
    let wrong = StarGanOptions { g_conv_dim: 8, ..small(Dataset::CelebA) };
    let msg = load_generator(&d, &wrong, &path("10-G.ckpt")).err().unwrap().to_string();
    assert!(msg.contains("10-G.ckpt") && msg.contains("--g-conv-dim 8"), "{msg}");
}

/// Everything a resume restores: networks, optimizers and the model's extra state, on the
/// host (optimizer moments are updated in place).
struct Snapshot {
    nets: Vec<NamedTensors>,
    opts: Vec<Vec<(String, HostTensor)>>,
    extra: NamedTensors,
}

fn snapshot(m: &mut StarGan) -> Snapshot {
    let host = |sd: Vec<(String, Tensor)>| -> Vec<(String, HostTensor)> {
        sd.into_iter().map(|(n, t)| (n, HostTensor::from_tensor(&t).unwrap())).collect()
    };
    Snapshot {
        nets: m.networks().into_iter().map(|(_, n)| host(n.state_dict())).collect(),
        opts: m.optimizers().into_iter().map(|(_, o)| host(o.state_dict().unwrap())).collect(),
        extra: m.extra_state().unwrap(),
    }
}

fn restore(m: &mut StarGan, s: &Snapshot, extra: bool) {
    let d = device();
    for ((_, net), sd) in m.networks().into_iter().zip(&s.nets) {
        net.load_state_dict(sd).unwrap();
    }
    for ((_, opt), state) in m.optimizers().into_iter().zip(&s.opts) {
        let state: Vec<(String, Tensor)> =
            state.iter().map(|(n, t)| (n.clone(), t.to_tensor(&d).unwrap())).collect();
        opt.load_state_dict(&state).unwrap();
    }
    if extra {
        m.load_extra_state(&s.extra, &d).unwrap();
    }
}

#[test]
fn extra_state_resumes_the_draws_exactly() {
    let d = device();
    let images = gold("images.safetensors");
    let (g, disc) = reference_nets(&d);
    let mut model = StarGan::new(g, disc, small(Dataset::CelebA), 7).unwrap();
    let batch = |i: usize| {
        let attrs = Tensor::from_slice(&d, &[1., 0., 0., 1., 0., 0., 1., 0., 0., 1.], &[2, 5]).unwrap();
        StarGanBatch::Single(DomainBatch {
            images: images[&format!("x{i}")].to_tensor(&d).unwrap(),
            labels: Labels::Attributes(attrs),
        })
    };
    let run = |model: &mut StarGan, from: usize| -> Vec<Vec<(&'static str, f32)>> {
        (from..from + 3)
            .map(|index| model.train_step(&batch(index), Step { index, epoch: 1 }).unwrap())
            .collect()
    };
    run(&mut model, 0);
    let saved = snapshot(&mut model);
    let first = run(&mut model, 3); // steps 3..6, with a G step after step 5
    restore(&mut model, &saved, true);
    assert_eq!(run(&mut model, 3), first, "a resume with the extra state repeats the steps exactly");
    restore(&mut model, &saved, false);
    assert_ne!(run(&mut model, 3), first, "without it, the draws (and so the losses) differ");
}
