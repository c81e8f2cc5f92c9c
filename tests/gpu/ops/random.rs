//! The counter-based generator: reproducible, device-independent, and well distributed.
//! The reference below is an independent CPU implementation of Philox4x32-10.

use crate::common::device;
use gantry::Tensor;

fn philox(mut c: [u32; 4], mut k: [u32; 2]) -> [u32; 4] {
    for _ in 0..10 {
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [(p1 >> 32) as u32 ^ c[1] ^ k[0], p1 as u32, (p0 >> 32) as u32 ^ c[3] ^ k[1], p0 as u32];
        k = [k[0].wrapping_add(0x9E37_79B9), k[1].wrapping_add(0xBB67_AE85)];
    }
    c
}

fn reference(seed: u64, stream: u64, n: usize, normal: bool) -> Vec<f32> {
    let key = [seed as u32, (seed >> 32) as u32];
    let mut out = Vec::with_capacity(n + 4);
    for j in 0..n.div_ceil(4) as u32 {
        let r = philox([j, stream as u32, (stream >> 32) as u32, 0], key);
        if normal {
            for pair in 0..2 {
                let u1 = ((r[2 * pair] >> 8) + 1) as f32 / 16_777_216.0;
                let u2 = (r[2 * pair + 1] >> 8) as f32 / 16_777_216.0;
                let radius = (-2.0 * (u1 as f64).ln()).sqrt();
                let theta = std::f64::consts::TAU * u2 as f64;
                out.push((radius * theta.cos()) as f32);
                out.push((radius * theta.sin()) as f32);
            }
        } else {
            out.extend(r.iter().map(|&x| (x >> 8) as f32 / 16_777_216.0));
        }
    }
    out.truncate(n);
    out
}

#[test]
fn same_seed_same_numbers_on_any_device() {
    // A private device so that no other test draws from its streams meanwhile.
    let d = gantry::Device::open().unwrap();
    d.manual_seed(0x1234_5678_9abc);
    let u = Tensor::rand(&d, &[3, 7, 13]).unwrap().to_vec().unwrap();
    let z = Tensor::randn(&d, &[1001]).unwrap().to_vec().unwrap();
    // Uniform values are exact integer arithmetic: bit for bit.
    assert_eq!(u, reference(0x1234_5678_9abc, 0, 273, false));
    // Normal values pass through log, sqrt and cos, which GPUs round slightly differently.
    for (i, (a, b)) in z.iter().zip(reference(0x1234_5678_9abc, 1, 1001, true)).enumerate() {
        assert!((a - b).abs() <= 2e-5 * (1.0 + b.abs()), "normal {i}: {a} vs {b}");
    }
    d.manual_seed(0x1234_5678_9abc);
    assert_eq!(Tensor::rand(&d, &[3, 7, 13]).unwrap().to_vec().unwrap(), u, "reseeding repeats the stream");
    assert_ne!(Tensor::rand(&d, &[3, 7, 13]).unwrap().to_vec().unwrap(), u, "each call draws a new stream");
}

#[test]
fn distributions_have_the_right_moments() {
    let d = device();
    let n = 200_003;
    let u = Tensor::uniform(&d, &[n], -1.0, 3.0).unwrap().to_vec().unwrap();
    assert!(u.iter().all(|&v| (-1.0..3.0).contains(&v)));
    let mean_u = u.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    assert!((mean_u - 1.0).abs() < 0.02, "uniform mean {mean_u}");
    let z = Tensor::normal(&d, &[n], 2.0, 0.5).unwrap().to_vec().unwrap();
    let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(
        (mean - 2.0).abs() < 0.01 && (var.sqrt() - 0.5).abs() < 0.01,
        "normal mean {mean} std {}",
        var.sqrt()
    );
}

#[test]
fn fills_and_ranges() {
    let d = device();
    assert_eq!(Tensor::arange(&d, 1.0, 2.0, 0.25).unwrap().to_vec().unwrap(), vec![1.0, 1.25, 1.5, 1.75]);
    assert_eq!(Tensor::full(&d, &[2, 2], 7.5).unwrap().to_vec().unwrap(), vec![7.5; 4]);
    assert_eq!(Tensor::scalar(&d, 3.0).unwrap().item().unwrap(), 3.0);
    // 65535 workgroups of 256 is the most one dispatch row holds; beyond, the grid folds.
    let n = 65_536 * 256 + 77;
    let big = Tensor::full(&d, &[n], 0.5).unwrap();
    assert_eq!(
        big.narrow(0, n - 3, 3).unwrap().to_vec().unwrap(),
        vec![0.5; 3],
        "the tail past the fold is written"
    );
    let err = Tensor::zeros(&d, &[d.max_tensor_elements() + 1]).unwrap_err();
    assert!(err.to_string().contains("largest storage binding"), "{err}");
}
