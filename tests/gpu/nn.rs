//! Modules: PyTorch state dicts (.pth) load into gantry's layers by name and give
//! PyTorch's outputs, gradients and buffer updates; spectral norm; loading errors; inits.

use crate::common::{assert_values, device, Tol};
use gantry::io::{load_pth, load_safetensors, HostTensor};
use gantry::nn::{
    init, Activation, Conv2d, ConvTranspose2d, Layer, Linear, Module, ModuleExt, Norm, Sequential,
    SpectralNorm,
};
use gantry::ops::conv2d::{Conv2d as ConvOpts, ConvTranspose2d as ConvTOpts};
use gantry::{grad, Device, Tensor};
use std::collections::HashMap;
use std::path::PathBuf;

/// A few layers deep, with norms: f32 sums of tens of terms.
const LAYERS: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth").join(name)
}

fn gold() -> HashMap<String, HostTensor> {
    load_safetensors(fixture("layers_expected.safetensors")).unwrap().into_iter().collect()
}

fn close(what: &str, t: &Tensor, g: &HostTensor) {
    assert_values(what, &t.to_vec().unwrap(), t.shape(), &g.to_f32(), &g.shape, LAYERS);
}

fn net(d: &Device) -> Sequential {
    let conv = ConvOpts::default().padding(1);
    let up = ConvTOpts::default().stride(2).padding(1);
    Sequential::new()
        .push(Conv2d::new(d, 3, 4, 3, conv, true).unwrap())
        .push(Norm::batch(d, 4).unwrap())
        .push(Activation::LeakyRelu(0.2))
        .push(ConvTranspose2d::new(d, 4, 2, 4, up, true).unwrap())
        .push(Norm::instance(d, 2, true, false).unwrap())
        .push(Activation::Tanh)
}

#[test]
fn a_pytorch_state_dict_loads_and_reproduces_train_and_eval() {
    let d = device();
    let g = gold();
    let model = net(&d);
    model.load_state_dict(&load_pth(fixture("layers_net.pth")).unwrap().tensors()).unwrap();
    let x = g["net.x"].to_tensor(&d).unwrap();
    let out = model.forward(&x).unwrap();
    close("train output", &out, &g["net.train_out"]);
    let loss = out.mul(&g["net.w"].to_tensor(&d).unwrap()).unwrap().sum_all().unwrap();
    let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
    let params = model.parameters();
    let grads = grad(&[loss], &params, false).unwrap();
    let param_names: Vec<&String> =
        names.iter().filter(|n| g.contains_key(&format!("net.grad.{n}"))).collect();
    assert_eq!(param_names.len(), params.len(), "every parameter has a PyTorch gradient");
    for (name, gr) in param_names.iter().zip(&grads) {
        close(&format!("gradient of {name}"), gr, &g[&format!("net.grad.{name}")]);
    }
    for (name, t) in model.state_dict() {
        if let Some(after) = g.get(&format!("net.after.{name}")) {
            close(&format!("buffer {name} after the train step"), &t, after);
        }
    }
    model.set_training(false);
    close("eval output", &model.forward(&x).unwrap(), &g["net.eval_out"]);
}

#[test]
fn spectral_norm_iterates_in_train_and_not_in_eval() {
    let d = device();
    let g = gold();
    let snet = Sequential::new()
        .push(SpectralNorm::new(Conv2d::new(&d, 3, 4, 3, ConvOpts::default(), true).unwrap()).unwrap())
        .push(Activation::LeakyRelu(0.1))
        .push(
            SpectralNorm::new(
                ConvTranspose2d::new(&d, 4, 2, 4, ConvTOpts::default().stride(2).padding(1), true).unwrap(),
            )
            .unwrap(),
        );
    let ckpt = load_pth(fixture("spectral.pth")).unwrap();
    snet.load_state_dict(&ckpt.get("net").unwrap().tensors()).unwrap();
    let x = g["sn.x"].to_tensor(&d).unwrap();
    let out = snet.forward(&x).unwrap();
    close("train output", &out, &g["sn.train_out"]);
    for (name, t) in snet.state_dict() {
        if let Some(after) = g.get(&format!("sn.after.{name}")) {
            close(&format!("{name} after one power iteration"), &t, after);
        }
    }
    let loss = out.mul(&g["sn.w"].to_tensor(&d).unwrap()).unwrap().sum_all().unwrap();
    let named: Vec<(String, Tensor)> =
        snet.state_dict().into_iter().filter(|(n, _)| g.contains_key(&format!("sn.grad.{n}"))).collect();
    let tensors: Vec<Tensor> = named.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(tensors.len(), snet.parameters().len());
    for ((name, _), gr) in named.iter().zip(grad(&[loss], &tensors, false).unwrap()) {
        close(&format!("gradient of {name}"), &gr, &g[&format!("sn.grad.{name}")]);
    }
    let u_before =
        snet.state_dict().into_iter().find(|(n, _)| n == "0.weight_u").unwrap().1.to_vec().unwrap();
    snet.set_training(false);
    close("eval output", &snet.forward(&x).unwrap(), &g["sn.eval_out"]);
    let u_after = snet.state_dict().into_iter().find(|(n, _)| n == "0.weight_u").unwrap().1.to_vec().unwrap();
    assert_eq!(u_before, u_after, "eval mode runs no power iteration");

    let lin = SpectralNorm::new(Linear::new(&d, 5, 3, true).unwrap()).unwrap();
    lin.load_state_dict(&ckpt.get("lin").unwrap().tensors()).unwrap();
    close("linear output", &lin.forward(&g["lin.x"].to_tensor(&d).unwrap()).unwrap(), &g["lin.train_out"]);
    close("linear u", &lin.u, &g["lin.after.weight_u"]);
    close("linear v", &lin.v, &g["lin.after.weight_v"]);
}

#[test]
fn loading_reports_every_bad_key_at_once_and_changes_nothing() {
    let d = device();
    let model = net(&d);
    let before: Vec<f32> = model.parameters()[0].to_vec().unwrap();
    let mut tensors = load_pth(fixture("layers_net.pth")).unwrap().tensors();
    tensors.retain(|(n, _)| n != "1.running_var");
    tensors.iter_mut().find(|(n, _)| n == "0.bias").unwrap().1.shape = vec![2, 2];
    let extra = tensors[0].1.clone();
    tensors.push(("9.weight".into(), extra));
    let msg = model.load_state_dict(&tensors).unwrap_err().to_string();
    assert!(msg.contains("1 key(s) missing from the file: 1.running_var [4]"), "{msg}");
    assert!(msg.contains("1 key(s) of another shape: 0.bias (file [2, 2], model [4])"), "{msg}");
    assert!(msg.contains("1 key(s) in the file but not the model: 9.weight"), "{msg}");
    // A file of another architecture altogether: counts and the first keys, in order.
    let others: Vec<_> = (0..30).map(|i| (format!("z.{i:02}.weight"), tensors[0].1.clone())).collect();
    let msg = model.load_state_dict(&others).unwrap_err().to_string();
    assert!(msg.contains("30 key(s) in the file but not the model: z.00.weight"), "{msg}");
    assert!(msg.contains("z.03.weight [") && msg.contains("… 26 more") && !msg.contains("z.04"), "{msg}");
    assert!(msg.len() < 600, "{} bytes: {msg}", msg.len());
    assert_eq!(model.parameters()[0].to_vec().unwrap(), before, "a failed load changes nothing");
}

#[test]
fn names_counts_and_freezing() {
    let d = device();
    let model = net(&d);
    let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "3.weight",
            "3.bias",
            "4.weight",
            "4.bias"
        ]
    );
    assert_eq!(model.parameter_count(), 4 * 3 * 9 + 4 + 4 + 4 + 4 * 2 * 16 + 2 + 2 + 2);
    model.set_requires_grad(false);
    assert!(model.parameters().iter().all(|p| !p.requires_grad()));
    model.set_requires_grad(true);
    assert!(model.parameters().iter().all(Tensor::requires_grad));
}

#[test]
fn initialisers_have_the_documented_spread() {
    let d = Device::open().unwrap();
    d.manual_seed(17);
    let std_of = |t: &Tensor| {
        let v = t.to_vec().unwrap();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    };
    let w = Tensor::zeros(&d, &[64, 32, 3, 3]).unwrap();
    init::pytorch_default(&w, None).unwrap();
    let bound = 1.0 / (32.0f32 * 9.0).sqrt();
    assert!(w.to_vec().unwrap().iter().all(|x| x.abs() <= bound));
    assert!((std_of(&w) - bound / 3f32.sqrt()).abs() < 0.05 * bound);
    init::kaiming_normal(&w, 0.0).unwrap();
    assert!((std_of(&w) - (2.0f32 / 288.0).sqrt()).abs() < 0.03 * (2.0f32 / 288.0).sqrt());
    init::xavier_normal(&w, 1.0).unwrap();
    let xavier = (2.0f32 / (288.0 + 576.0)).sqrt();
    assert!((std_of(&w) - xavier).abs() < 0.03 * xavier);
    init::normal(&w, 0.0, 0.02).unwrap();
    assert!((std_of(&w) - 0.02).abs() < 0.001);
    let q = Tensor::zeros(&d, &[6, 10]).unwrap();
    init::orthogonal(&q, 1.0).unwrap();
    let qqt = q.matmul(&q.transpose(0, 1).unwrap()).unwrap().to_vec().unwrap();
    for i in 0..6 {
        for j in 0..6 {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((qqt[i * 6 + j] - want).abs() < 1e-5, "rows of an orthogonal init are orthonormal");
        }
    }
}

#[test]
fn linear_matches_pytorch_on_a_batch() {
    let d = device();
    let g = gold();
    let lin = Linear::new(&d, 5, 3, true).unwrap();
    lin.load_state_dict(&load_pth(fixture("linear.pth")).unwrap().tensors()).unwrap();
    let out = lin.forward(&g["linear.x"].to_tensor(&d).unwrap()).unwrap();
    close("linear output", &out, &g["linear.out"]);
    let loss = out.mul(&g["linear.w"].to_tensor(&d).unwrap()).unwrap().sum_all().unwrap();
    let grads = grad(&[loss], &lin.parameters(), false).unwrap();
    close("linear weight gradient", &grads[0], &g["linear.grad.weight"]);
    close("linear bias gradient", &grads[1], &g["linear.grad.bias"]);
}

#[test]
fn legacy_instance_norm_statistics_are_skipped_like_the_reference_loader() {
    let d = device();
    let model = net(&d);
    let mut tensors = load_pth(fixture("layers_net.pth")).unwrap().tensors();
    let stat = tensors.iter().find(|(n, _)| n == "1.running_mean").unwrap().1.clone();
    // Layer 4 is an InstanceNorm2d without running statistics: older PyTorch saved them.
    tensors.push(("4.running_mean".into(), stat.clone()));
    tensors.push(("4.running_var".into(), stat.clone()));
    model.load_state_dict(&tensors).unwrap();
    // The same keys on a layer that is not such a norm are still unexpected.
    tensors.push(("0.running_mean".into(), stat));
    assert!(model
        .load_state_dict(&tensors)
        .unwrap_err()
        .to_string()
        .contains("not the model: 0.running_mean"));
}

/// The spectral-norm kernels against the tensor-op twin: convolutions (rows along axis 0; one
/// of over 4096 elements), a transposed convolution (axis 1) and a linear layer, in train mode (u and v updated
/// alike) and eval mode, with plain and create_graph gradients of weight_orig.
#[test]
fn spectral_norm_kernels_equal_the_tensor_ops() {
    use gantry::nn::Linear;
    let d = device();
    fn check<L: gantry::nn::layers::Weighted>(name: &str, a: &SpectralNorm<L>, b: &SpectralNorm<L>) {
        let close = |what: &str, x: &Tensor, y: &Tensor| {
            let (x, y) = (x.to_vec().unwrap(), y.to_vec().unwrap());
            let worst =
                x.iter().zip(&y).map(|(p, q)| (p - q).abs() / q.abs().max(1.0)).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{name}, {what}: off by {worst}");
        };
        for training in [true, false, true] {
            a.set_training(training);
            b.set_training(training);
            let (wa, wb) = (a.weight().unwrap(), b.weight_composite().unwrap());
            close(&format!("W / sigma, training {training}"), &wa, &wb);
            close("u", &a.u, &b.u);
            close("v", &a.v, &b.v);
            let r = Tensor::uniform(wa.device(), wa.shape(), -1.0, 1.0).unwrap();
            for create_graph in [false, true] {
                let ga = grad(
                    &[wa.mul(&r).unwrap().sum_all().unwrap()],
                    std::slice::from_ref(&a.weight_orig),
                    create_graph,
                );
                let gb = grad(
                    &[wb.mul(&r).unwrap().sum_all().unwrap()],
                    std::slice::from_ref(&b.weight_orig),
                    create_graph,
                );
                close(&format!("gradient, create_graph {create_graph}"), &ga.unwrap()[0], &gb.unwrap()[0]);
            }
        }
    }
    let twin = |a: &dyn Module, b: &dyn Module| {
        let host =
            a.state_dict().iter().map(|(n, t)| (n.clone(), HostTensor::from_tensor(t).unwrap())).collect();
        b.load_state_dict(&host).unwrap();
    };
    let conv = || SpectralNorm::new(Conv2d::new(&d, 5, 6, 3, ConvOpts::default(), true).unwrap()).unwrap();
    let (a, b) = (conv(), conv());
    twin(&a, &b);
    check("conv", &a, &b);
    let convt = || {
        SpectralNorm::new(ConvTranspose2d::new(&d, 6, 3, 4, ConvTOpts::default().stride(2), false).unwrap())
            .unwrap()
    };
    let (a, b) = (convt(), convt());
    twin(&a, &b);
    check("transposed conv", &a, &b);
    // Over 4096 elements: several workgroups divide by σ and several partial sums of g·W.
    let wide = || SpectralNorm::new(Conv2d::new(&d, 40, 24, 3, ConvOpts::default(), false).unwrap()).unwrap();
    let (a, b) = (wide(), wide());
    twin(&a, &b);
    check("wide conv", &a, &b);
    let linear = || SpectralNorm::new(Linear::new(&d, 70, 9, true).unwrap()).unwrap();
    let (a, b) = (linear(), linear());
    twin(&a, &b);
    check("linear", &a, &b);
}
