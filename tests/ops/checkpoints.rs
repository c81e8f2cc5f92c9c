//! Checkpoint readers: PyTorch files written by torch.save (tests/reference/
//! make_checkpoints.py), safetensors round trips, and malformed or hostile input.

use crate::common::device;
use gantry::io::{load_pth, load_safetensors, save_safetensors, Entry, HostData};
use gantry::Tensor;
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth").join(name)
}

fn expected() -> HashMap<String, gantry::io::HostTensor> {
    load_safetensors(fixture("expected.safetensors")).unwrap().into_iter().collect()
}

fn check_file(name: &str) {
    let all = expected();
    let want: HashMap<&str, _> =
        all.iter().filter_map(|(k, v)| k.strip_prefix(&format!("{name}/")).map(|k| (k, v))).collect();
    let got = load_pth(fixture(name)).unwrap().tensors();
    let mut got_names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    let mut want_names: Vec<&str> = want.keys().copied().collect();
    got_names.sort_unstable();
    want_names.sort_unstable();
    assert_eq!(got_names, want_names, "{name}: tensor names");
    for (key, t) in &got {
        let e = want[key.as_str()];
        assert_eq!(t.shape, e.shape, "{name}/{key}: shape");
        assert_eq!(t.to_f32(), e.to_f32(), "{name}/{key}: values");
        assert_eq!(
            matches!(t.data, HostData::I64(_)),
            matches!(e.data, HostData::I64(_)),
            "{name}/{key}: integer or float"
        );
    }
}

#[test]
fn state_dicts_written_by_torch_save_load_exactly() {
    for name in ["conv_bn.pth", "views.pth", "dtypes.pth", "dataparallel.pth"] {
        check_file(name);
    }
    // BatchNorm's counter is read as an integer.
    let sd = load_pth(fixture("conv_bn.pth")).unwrap().tensors();
    let counter = &sd.iter().find(|(k, _)| k == "1.num_batches_tracked").unwrap().1;
    assert_eq!(counter.data, HostData::I64(vec![1]));
}

#[test]
fn nested_checkpoints_keep_their_structure() {
    check_file("stargan2_nets.ckpt");
    check_file("fastgan_all.pth");
    let nets = load_pth(fixture("stargan2_nets.ckpt")).unwrap();
    let mapping = nets.get("mapping_network").expect("a nested entry").tensors();
    assert_eq!(mapping.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["weight", "bias"]);
    let all = load_pth(fixture("fastgan_all.pth")).unwrap();
    assert!(matches!(all.get("g_ema"), Some(Entry::List(items)) if items.len() == 6));
}

#[test]
fn hostile_and_broken_checkpoints_are_refused() {
    let err = load_pth(fixture("evil.pth")).unwrap_err().to_string();
    assert!(err.contains("os.system") && err.contains("evil.pth"), "{err}");

    let good = std::fs::read(fixture("conv_bn.pth")).unwrap();
    let err = Entry::from_bytes(&good[..good.len() / 2]).unwrap_err();
    assert!(err.contains("zip") || err.contains("truncated") || err.contains("past the end"), "{err}");

    // An unknown opcode in the pickle: rewrite data.pkl's STOP ('.') to 0xff.
    let mut bad = good.clone();
    let pkl_end = find(&good, b"data.pkl").expect("data.pkl entry");
    let stop = (pkl_end..good.len())
        .find(|&i| good[i] == b'.' && good.get(i + 1) == Some(&b'P'))
        .expect("end of the pickle");
    bad[stop] = 0xff;
    let err = Entry::from_bytes(&bad).unwrap_err();
    assert!(err.contains("opcode 0xff"), "{err}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_storage_shorter_than_its_shape_is_an_error() {
    // views.pth keeps one storage of 24 floats. Its central-directory entry's sizes are
    // shrunk to 40 bytes, so the storage is now shorter than a [4, 6] tensor needs.
    let mut bytes = std::fs::read(fixture("views.pth")).unwrap();
    let entry = (0..bytes.len() - 4)
        .filter(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02])
        .find(|&i| bytes[i + 46..].starts_with(b"views/data/0"))
        .expect("the storage's central-directory entry");
    bytes[entry + 20..entry + 24].copy_from_slice(&40u32.to_le_bytes());
    bytes[entry + 24..entry + 28].copy_from_slice(&40u32.to_le_bytes());
    let err = Entry::from_bytes(&bytes).unwrap_err();
    assert!(err.contains("needs more than"), "{err}");
}

#[test]
fn safetensors_round_trip_is_exact_and_lying_headers_are_refused() {
    let d = device();
    d.manual_seed(5);
    let tensors = vec![
        ("conv.weight".to_string(), Tensor::randn(&d, &[4, 3, 3, 3]).unwrap()),
        ("conv.bias".to_string(), Tensor::randn(&d, &[4]).unwrap()),
        ("scalar".to_string(), Tensor::scalar(&d, 1.5).unwrap()),
    ];
    let dir = std::env::temp_dir().join(format!("gantry-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("round.safetensors");
    save_safetensors(&path, &tensors).unwrap();
    let back: HashMap<String, _> = load_safetensors(&path).unwrap().into_iter().collect();
    for (name, t) in &tensors {
        assert_eq!(back[name].shape, t.shape());
        assert_eq!(back[name].to_f32(), t.to_vec().unwrap(), "{name}");
    }
    // A header whose offsets run past the data.
    let mut bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap();
    let lying = header.replacen("\"data_offsets\":[0,", "\"data_offsets\":[0,9", 1);
    assert_ne!(lying, header);
    let mut out = (lying.len() as u64).to_le_bytes().to_vec();
    out.extend(lying.as_bytes());
    out.extend(&bytes.split_off(8 + header_len));
    std::fs::write(&path, out).unwrap();
    let err = load_safetensors(&path).unwrap_err().to_string();
    assert!(err.contains("round.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Thousands of mutated files through both readers: each must give Ok or Err, never panic.
#[test]
fn mutated_checkpoints_never_panic() {
    let pth = std::fs::read(fixture("conv_bn.pth")).unwrap();
    let st = std::fs::read(fixture("expected.safetensors")).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut outcomes = [0usize; 2];
    for round in 0..3000 {
        let source = if round % 2 == 0 { &pth } else { &st };
        let mut bytes = source.clone();
        match next() % 4 {
            0 => bytes.truncate((next() as usize) % bytes.len()),
            1 => {
                for _ in 0..1 + next() % 8 {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] = next() as u8;
                }
            }
            2 => {
                let i = (next() as usize) % bytes.len();
                bytes.insert(i, next() as u8);
            }
            _ => {
                let len = bytes.len();
                let i = (next() as usize) % len.saturating_sub(4).max(1);
                bytes[i..(i + 4).min(len)].iter_mut().for_each(|b| *b = 0xff);
            }
        }
        let ok = if round % 2 == 0 {
            Entry::from_bytes(&bytes).is_ok()
        } else {
            gantry::io::parse_safetensors(&bytes).is_ok()
        };
        outcomes[usize::from(ok)] += 1;
    }
    assert!(outcomes[0] > 100, "most mutations are detected: {outcomes:?}");
}

#[test]
fn cli_inspects_and_converts_checkpoints() {
    let gantry = env!("CARGO_BIN_EXE_gantry");
    let out =
        std::process::Command::new(gantry).args(["inspect"]).arg(fixture("conv_bn.pth")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("0.weight\t[4, 3, 3, 3]\tF32") && text.contains("1.num_batches_tracked\t[]\tI64"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("gantry-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("mapping.safetensors");
    let status = std::process::Command::new(gantry)
        .arg("convert")
        .arg(fixture("stargan2_nets.ckpt"))
        .arg(&target)
        .args(["--key", "mapping_network"])
        .status()
        .unwrap();
    assert!(status.success());
    let converted: HashMap<String, _> = load_safetensors(&target).unwrap().into_iter().collect();
    let original = load_pth(fixture("stargan2_nets.ckpt")).unwrap();
    for (name, t) in original.get("mapping_network").unwrap().tensors() {
        assert_eq!(converted[&name], t, "{name}");
    }
    let out = std::process::Command::new(gantry).arg("inspect").arg(fixture("evil.pth")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("os.system"));
    std::fs::remove_dir_all(&dir).unwrap();
}
