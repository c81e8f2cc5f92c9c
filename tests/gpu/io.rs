//! Checkpoint readers: PyTorch files written by torch.save (tests/reference/
//! make_checkpoints.py) in the zip and the legacy format, safetensors round trips, and
//! malformed or hostile input.

use crate::common::device;
use gantry::io::{load_any, load_pth, load_safetensors, save_safetensors, Entry, HostData};
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

/// A xorshift generator: the fuzz tests below are the same on every run.
fn xorshift() -> impl FnMut() -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// One random damage: a truncation, flipped bytes, an inserted byte, four 0xff bytes, or a
/// huge 8-byte count (the legacy format's storage sizes are such counts).
fn mutate(source: &[u8], next: &mut impl FnMut() -> u64) -> Vec<u8> {
    let mut bytes = source.to_vec();
    let len = bytes.len();
    match next() % 5 {
        0 => bytes.truncate((next() as usize) % len),
        1 => {
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % len;
                bytes[i] = next() as u8;
            }
        }
        2 => {
            let i = (next() as usize) % len;
            bytes.insert(i, next() as u8);
        }
        3 => {
            let i = (next() as usize) % len.saturating_sub(4).max(1);
            bytes[i..(i + 4).min(len)].iter_mut().for_each(|b| *b = 0xff);
        }
        _ => {
            let huge = [u64::MAX, 1 << 62, 1 << 40, u64::from(u32::MAX)][(next() % 4) as usize];
            let i = (next() as usize) % (len - 8);
            bytes[i..i + 8].copy_from_slice(&huge.to_le_bytes());
        }
    }
    bytes
}

/// Thousands of mutated files through both readers: each must give Ok or Err, never panic.
#[test]
fn mutated_checkpoints_never_panic() {
    let pth = std::fs::read(fixture("conv_bn.pth")).unwrap();
    let st = std::fs::read(fixture("expected.safetensors")).unwrap();
    let mut next = xorshift();
    let mut outcomes = [0usize; 2];
    for round in 0..3000 {
        let bytes = mutate(if round % 2 == 0 { &pth } else { &st }, &mut next);
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

#[test]
fn legacy_files_written_by_torch_save_load_exactly() {
    for name in [
        "legacy_cyclegan.pth",
        "legacy_stargan2.ckpt",
        "legacy_views.pth",
        "legacy_dtypes.pth",
        "legacy_protocol4.pth",
        "legacy_python2_style.pth",
        "legacy_storage_views.pth",
    ] {
        check_file(name);
    }
    let sd = load_pth(fixture("legacy_cyclegan.pth")).unwrap().tensors();
    let counter = &sd.iter().find(|(k, _)| k == "1.num_batches_tracked").unwrap().1;
    assert_eq!(counter.data, HostData::I64(vec![1]));
}

#[test]
fn nested_legacy_checkpoints_select_by_key() {
    let path = fixture("legacy_stargan2.ckpt");
    let mapping = load_any(&path, Some("mapping_network")).unwrap();
    let all = load_pth(&path).unwrap().tensors();
    assert_eq!(mapping.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["weight", "bias"]);
    for (name, t) in &mapping {
        assert_eq!(
            Some(t),
            all.iter().find(|(k, _)| *k == format!("mapping_network.{name}")).map(|(_, t)| t)
        );
    }
    // The generator was saved with DataParallel's `module.` prefix; it is stripped.
    let generator = load_any(&path, Some("generator")).unwrap();
    assert!(generator.iter().any(|(k, _)| k == "0.weight"), "{:?}", generator[0].0);
    let err = load_any(&path, Some("discriminator")).unwrap_err().to_string();
    assert!(err.contains("legacy_stargan2.ckpt") && err.contains("style_encoder"), "{err}");
}

/// The first three pickles of a legacy file (an empty system-information dict), for files
/// written by hand below.
const LEGACY_HEADER: &[u8] =
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}.";

/// A legacy file holding the object pickle `object` and no storages.
fn legacy_file(object: &[u8]) -> Vec<u8> {
    [LEGACY_HEADER, object, &b"\x80\x02]."[..]].concat()
}

#[test]
fn hostile_and_broken_legacy_checkpoints_are_refused() {
    let err = load_pth(fixture("legacy_evil.pth")).unwrap_err().to_string();
    assert!(err.contains("os.system") && err.contains("legacy_evil.pth"), "{err}");
    let err = load_pth(fixture("legacy_bad_view.pth")).unwrap_err().to_string();
    assert!(err.contains("view of 4 elements at 10 runs past the 12 elements"), "{err}");

    // legacy_storage_views.pth ends with one storage: a count of 12, then 12 floats.
    let good = std::fs::read(fixture("legacy_storage_views.pth")).unwrap();
    let count_at = good.len() - 12 * 4 - 8;
    assert_eq!(good[count_at..count_at + 8], 12u64.to_le_bytes());
    let mut lying = good.clone();
    lying[count_at..count_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = Entry::from_bytes(&lying).unwrap_err();
    assert!(err.contains("holds 18446744073709551615 elements in the file but 12"), "{err}");
    let err = Entry::from_bytes(&good[..good.len() - 1]).unwrap_err();
    assert!(err.contains("runs past the end of the file"), "{err}");
    let err = Entry::from_bytes(&good[..count_at + 3]).unwrap_err();
    assert!(err.contains("before storage root's element count"), "{err}");
    let err = Entry::from_bytes(&good[..LEGACY_HEADER.len() + 5]).unwrap_err();
    assert!(err.contains("truncated pickle"), "{err}");

    // 100 lists nested in one another.
    let deep = [&b"\x80\x02"[..], &[b']'; 100], &[b'a'; 99], b"."].concat();
    let err = Entry::from_bytes(&legacy_file(&deep)).unwrap_err();
    assert!(err.contains("nest deeper than 64 levels"), "{err}");
    // A list of two copies of the memo's list, put back into the memo, 40 times over: 2^40
    // nodes from a few hundred bytes.
    let doubling = [&b"\x80\x02]q\x00"[..], &b"(h\x00h\x00lq\x000".repeat(40), b"h\x00."].concat();
    let err = Entry::from_bytes(&legacy_file(&doubling)).unwrap_err();
    assert!(err.contains("grow the pickle far beyond its size"), "{err}");
    // A list of 20000 items passed through _rebuild_parameter (which returns its argument)
    // 20000 times: every pass pops the whole list again.
    let n = 20_000;
    let revisits = [
        &b"\x80\x02ctorch._utils\n_rebuild_parameter\nq\x00"[..],
        &b"h\x00".repeat(n),
        b"](",
        &b"K\x01".repeat(n),
        b"e",
        &b"\x85R".repeat(n),
        b".",
    ]
    .concat();
    let err = Entry::from_bytes(&legacy_file(&revisits)).unwrap_err();
    assert!(err.contains("revisits its values too often"), "{err}");
}

#[test]
fn mutated_legacy_checkpoints_never_panic() {
    let sources = ["legacy_cyclegan.pth", "legacy_storage_views.pth", "legacy_dtypes.pth"]
        .map(|name| std::fs::read(fixture(name)).unwrap());
    let mut next = xorshift();
    let mut outcomes = [0usize; 2];
    for round in 0..3000 {
        let bytes = mutate(&sources[round % sources.len()], &mut next);
        outcomes[usize::from(Entry::from_bytes(&bytes).is_ok())] += 1;
    }
    assert!(outcomes[0] > 100, "most mutations are detected: {outcomes:?}");
}

#[test]
fn a_file_that_is_no_checkpoint_says_what_it_looks_like() {
    let dir = std::env::temp_dir().join(format!("gantry-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latest_net_G.pth");
    std::fs::write(&path, "<html><body>404 Not Found</body></html>\n").unwrap();
    let errors = [load_pth(&path).unwrap_err().to_string(), load_any(&path, None).unwrap_err().to_string()];
    for err in errors {
        assert!(
            err.contains("latest_net_G.pth")
                && err.contains(
                    "is not a checkpoint: neither a torch.save file (zip or legacy) nor safetensors"
                )
                && err.contains("starts with bytes 3c 68 74 6d: text?"),
            "{err}"
        );
    }
    // An image given where a checkpoint belongs is called an image.
    let png =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan/translate_in.png");
    let err = load_any(&png, None).unwrap_err().to_string();
    assert!(err.contains("is not a checkpoint") && err.contains("a PNG image"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_inspects_and_converts_legacy_checkpoints() {
    let gantry = env!("CARGO_BIN_EXE_gantry");
    let out = std::process::Command::new(gantry)
        .arg("inspect")
        .arg(fixture("legacy_cyclegan.pth"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("0.weight\t[4, 3, 3, 3]\tF32") && text.contains("1.num_batches_tracked\t[]\tI64"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("gantry-cli-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("generator.safetensors");
    let status = std::process::Command::new(gantry)
        .arg("convert")
        .arg(fixture("legacy_stargan2.ckpt"))
        .arg(&target)
        .args(["--key", "generator"])
        .status()
        .unwrap();
    assert!(status.success());
    let converted: HashMap<String, _> = load_safetensors(&target).unwrap().into_iter().collect();
    let original = load_pth(fixture("legacy_stargan2.ckpt")).unwrap().get("generator").unwrap().tensors();
    assert_eq!(converted.len(), original.len());
    for (name, t) in original {
        assert_eq!(converted[&name], t, "{name}");
    }
    let out =
        std::process::Command::new(gantry).arg("inspect").arg(fixture("legacy_evil.pth")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("os.system"));
    std::fs::remove_dir_all(&dir).unwrap();
}
