//! Losses shared by several GANs, against the reference implementations.

use crate::common::{assert_values, device, Tol};
use gantry::io::{load_pth, load_safetensors, HostTensor};
use gantry::models::image2image::nets::{nlayer_discriminator, NetConfig, NormKind};
use gantry::nn::ModuleExt;
use std::collections::HashMap;
use std::path::PathBuf;

/// The WGAN-GP penalty of a PatchGAN, and its gradients w.r.t. the discriminator's
/// weights (second order), match the reference's `cal_gradient_penalty`.
#[test]
fn gradient_penalty_matches_the_reference() {
    use gantry::models::losses::gradient_penalty;
    let d = device();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cyclegan");
    let gold: HashMap<String, HostTensor> =
        load_safetensors(dir.join("gp.safetensors")).unwrap().into_iter().collect();
    let net = nlayer_discriminator(
        &d,
        NetConfig { input_nc: 3, output_nc: 1, width: 4, norm: NormKind::Instance, dropout: false },
        1,
    )
    .unwrap();
    net.load_state_dict(&load_pth(dir.join("gp_d.pth")).unwrap().tensors()).unwrap();
    let t = |k: &str| gold[k].to_tensor(&d).unwrap();
    let penalty = gradient_penalty(&net, &t("real"), &t("fake"), &t("alpha"), 10.0).unwrap();
    let want = gold["penalty"].to_f32()[0];
    assert!(
        (penalty.item().unwrap() - want).abs() <= 1e-4 * want.abs().max(1.0),
        "penalty {} vs {want}",
        penalty.item().unwrap()
    );
    let names: Vec<String> = net.state_dict().into_iter().map(|(n, _)| n).collect();
    for (name, g) in names.iter().zip(gantry::grad(&[penalty], &net.parameters(), false).unwrap()) {
        let want = &gold[&format!("grad.{name}")];
        if want.shape == [1] && g.numel() != 1 {
            // PyTorch found no path: a bias that InstanceNorm cancels. Ours is zero up to
            // rounding, since our norm's gradient recomputes the statistics.
            assert!(
                g.to_vec().unwrap().iter().all(|v| v.abs() < 1e-5),
                "{name}: the penalty does not depend on it"
            );
            continue;
        }
        assert_values(
            &format!("penalty gradient of {name}"),
            &g.to_vec().unwrap(),
            g.shape(),
            &want.to_f32(),
            &want.shape,
            Tol { atol: 1e-5, rtol: 1e-3 },
        );
    }
}
