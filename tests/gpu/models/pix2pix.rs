//! Three pix2pix iterations (U-Net and PatchGAN with BatchNorm in train mode, dropout
//! off) against PyTorch: every loss, and every parameter and running statistic after the
//! third.

use crate::common::device;
use crate::models::cyclegan::TRAIN;
use crate::models::parity::assert_iterations_match;
use gantry::data::aligned::AlignedBatch;
use gantry::io::{load_pth, load_safetensors, HostTensor};
use gantry::models::image2image::nets::{nlayer_discriminator, unet_generator, NetConfig, NormKind};
use gantry::models::pix2pix::{Pix2Pix, Pix2PixOptions};
use gantry::models::Step;
use gantry::nn::ModuleExt;
use std::collections::HashMap;
use std::path::PathBuf;

#[test]
fn three_pix2pix_iterations_match_pytorch() {
    let d = device();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cyclegan");
    let gold: HashMap<String, HostTensor> =
        load_safetensors(dir.join("pix2pix_train.safetensors")).unwrap().into_iter().collect();
    let init = load_pth(dir.join("pix2pix_init.pth")).unwrap();
    let g = unet_generator(
        &d,
        NetConfig { input_nc: 3, output_nc: 3, width: 2, norm: NormKind::Batch, dropout: false },
        7,
    )
    .unwrap();
    let disc = nlayer_discriminator(
        &d,
        NetConfig { input_nc: 6, output_nc: 1, width: 4, norm: NormKind::Batch, dropout: false },
        3,
    )
    .unwrap();
    g.load_state_dict(&init.get("G").unwrap().tensors()).unwrap();
    disc.load_state_dict(&init.get("D").unwrap().tensors()).unwrap();
    let mut model = Pix2Pix::new(g, disc, Pix2PixOptions::default());
    let image = |it: usize, side: &str| gold[&format!("it{it}.{side}")].to_tensor(&d).unwrap();
    assert_iterations_match(
        &mut model,
        &gold,
        3,
        |it| AlignedBatch { a: image(it, "A"), b: image(it, "B") },
        |index| Step { index, epoch: 1 },
        |_, _| TRAIN,
    );
}
