//! Mutation fuzzing of every file reader, on the host only (no GPU device is opened).
//!
//! Valid files from `tests/fixtures` are damaged by seeded, reproducible mutations (bit
//! flips; bytes overwritten with 0, 0xff, 0x7f or 0x80; truncations; chunks duplicated,
//! removed or inserted; integers written anywhere) and by format-aware ones (zip headers'
//! sizes, offsets and counts; pickle opcodes' lengths and integers, opcodes removed,
//! duplicated or widened to 8-byte integers such as 2^60; the legacy format's storage
//! counts; safetensors' header length, offsets, shapes and dtypes; PNG chunks with their
//! CRC recomputed; JPEG segment lengths and frame sizes), then read by:
//!
//! - `pth-zip`: [`Entry::from_bytes`] on `torch.save` zip checkpoints (PyTorch >= 1.6);
//! - `pth-legacy`: the same on legacy (pre-1.6) checkpoints;
//! - `pickle`: the restricted unpickler, a zip checkpoint's `data.pkl` mutated and zipped
//!   again with the checkpoint's storages, so tensors are materialised too;
//! - `safetensors`: [`gantry::io::parse_safetensors`];
//! - `png` and `jpeg`: [`gantry::io::image::decode_rgb`] (what `read_rgb` decodes with).
//!
//! Every input must give `Ok` or `Err`. A panic (or a tensor whose shape does not match
//! its data) fails the test and prints the reader, the case, the seed file and the
//! mutations; a case still running after [`HANG`] fails it too; an allocation of more than
//! 512 MiB aborts the whole binary after naming the case. Each reader prints how many inputs
//! it read, how many were refused, and its slowest case.
//!
//! The environment scales and replays a campaign:
//! - `GANTRY_FUZZ_ITERS=N`: N inputs per reader (default [`DEFAULT_ITERS`], about 2 s for
//!   all six on two cores), e.g. `GANTRY_FUZZ_ITERS=1000000 cargo test --test fuzz --
//!   --nocapture` (the test profile keeps overflow checks, which release builds drop);
//! - `GANTRY_FUZZ_SEED=S`: the campaign's seed (decimal or `0x` hex; default [`SEED`]);
//! - `GANTRY_FUZZ_CASE=READER:I`: only case I of READER, its mutations printed (what a
//!   failure says to run).

use gantry::io::image::decode_rgb;
use gantry::io::{parse_safetensors, Entry, HostData, HostTensor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod alloc;
mod formats;
mod mutate;
mod readers;
mod rng;
mod zip;
use alloc::CURRENT;
use formats::*;
use mutate::*;
use readers::*;
use rng::*;
use zip::*;

/// Inputs per reader unless `GANTRY_FUZZ_ITERS` says otherwise.
pub(crate) const DEFAULT_ITERS: u64 = 20_000;
/// The campaign's seed unless `GANTRY_FUZZ_SEED` says otherwise.
pub(crate) const SEED: u64 = 0x6761_6e74_7279_0013;
/// How long one input may take before the reader counts as hung.
pub(crate) const HANG: Duration = Duration::from_secs(10);
/// The largest single allocation a reader may ask for: what `decode_rgb` allows an image;
/// the checkpoint readers need far less for these seeds. Anything larger came from a size
/// read out of a damaged field.
pub(crate) const MAX_ALLOC: usize = 512 << 20;

// ---------------------------------------------------------------------------------------
// The driver.

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// Case `i` of a campaign: the seed it starts from, the bytes the reader gets, and the
/// mutations that made them.
fn input(t: &Target, seed: u64, i: u64) -> (&Seed, Vec<u8>, Vec<String>) {
    let mut rng = case_rng(seed, t.name, i);
    let s = rng.pick(&t.seeds);
    let mut bytes = s.bytes.clone();
    let n = *rng.pick(&[1, 1, 1, 1, 2, 2, 3, 4, 8]);
    let log = (0..n)
        .map(|_| {
            if rng.below(2) == 0 {
                (t.special)(s, &mut bytes, &mut rng)
            } else {
                generic(&mut bytes, &mut rng)
            }
        })
        .collect();
    (s, (t.wrap)(s, bytes), log)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Reads every case of one reader on a worker thread, watched for hangs; fails naming every
/// case that panicked.
fn fuzz(make: fn() -> Target) {
    let t = make();
    let name = t.name;
    let seed = env_u64("GANTRY_FUZZ_SEED").unwrap_or(SEED);
    let only = std::env::var("GANTRY_FUZZ_CASE").ok().map(|v| {
        let (reader, i) = v.split_once(':').expect("GANTRY_FUZZ_CASE=READER:I");
        (reader.to_string(), i.parse::<u64>().expect("GANTRY_FUZZ_CASE=READER:I"))
    });
    if let Some((reader, _)) = &only {
        assert!(
            READERS.contains(&reader.as_str()),
            "GANTRY_FUZZ_CASE: no reader {reader}; there are {READERS:?}"
        );
    }
    let cases: Vec<u64> = match &only {
        Some((reader, _)) if reader != name => return,
        Some((_, i)) => vec![*i],
        None => (0..env_u64("GANTRY_FUZZ_ITERS").unwrap_or(DEFAULT_ITERS)).collect(),
    };
    let verbose = only.is_some();
    // The case running now and when it started (ms since `epoch`), for the watchdog.
    let epoch = Instant::now();
    let now = Arc::new((AtomicU64::new(u64::MAX), AtomicU64::new(0), AtomicBool::new(false)));
    let progress = now.clone();
    let worker = std::thread::spawn(move || {
        let (mut refused, mut failures, mut slowest) = (0usize, Vec::new(), (Duration::ZERO, 0));
        for &i in &cases {
            let (s, bytes, log) = input(&t, seed, i);
            if verbose {
                eprintln!("{name} case {i}: {} ({} bytes) {log:?}", s.name, bytes.len());
            }
            progress.1.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
            progress.0.store(i, Ordering::SeqCst);
            CURRENT.set(Some((name, i)));
            let start = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| (t.read)(&bytes)));
            let took = start.elapsed();
            CURRENT.set(None);
            slowest = slowest.max((took, i));
            match result {
                Ok(Ok(what)) => {
                    if verbose {
                        eprintln!("  read: {what}");
                    }
                }
                Ok(Err(e)) => {
                    refused += 1;
                    if verbose {
                        eprintln!("  refused: {e}");
                    }
                }
                Err(p) => failures.push(format!(
                    "{name} case {i} (GANTRY_FUZZ_SEED={seed:#x} GANTRY_FUZZ_CASE={name}:{i}): {} mutated by {log:?} panicked: {}",
                    s.name,
                    panic_message(&*p)
                )),
            }
        }
        progress.2.store(true, Ordering::SeqCst);
        (cases.len(), refused, failures, slowest)
    });
    while !now.2.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
        let since = (epoch.elapsed().as_millis() as u64).saturating_sub(now.1.load(Ordering::SeqCst));
        let i = now.0.load(Ordering::SeqCst);
        assert!(
            now.2.load(Ordering::SeqCst) || i == u64::MAX || since < HANG.as_millis() as u64,
            "{name} case {i} hangs: still reading after {since} ms; rerun it with GANTRY_FUZZ_SEED={seed:#x} GANTRY_FUZZ_CASE={name}:{i}"
        );
    }
    let (n, refused, failures, (slow, slow_case)) = worker.join().unwrap();
    eprintln!(
        "fuzz {name}: {n} inputs, {refused} refused, {} read, {} panicked; slowest case {slow_case} took {slow:.1?} ({:.1?} in all)",
        n - refused - failures.len(),
        failures.len(),
        epoch.elapsed()
    );
    assert!(failures.is_empty(), "{} of {n} inputs panicked:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn fuzz_pth_zip() {
    fuzz(pth_zip);
}

#[test]
fn fuzz_pth_legacy() {
    fuzz(pth_legacy);
}

#[test]
fn fuzz_pickle() {
    fuzz(pickle);
}

#[test]
fn fuzz_safetensors() {
    fuzz(safetensors);
}

#[test]
fn fuzz_png() {
    fuzz(png);
}

#[test]
fn fuzz_jpeg() {
    fuzz(jpeg);
}

/// The seeds themselves read (or, for the hostile ones, are refused) without damage, and the
/// zip writer above makes archives the reader takes.
#[test]
fn seeds_are_sound() {
    for t in [pth_zip(), pth_legacy(), pickle(), safetensors(), png(), jpeg()] {
        assert!(!t.seeds.is_empty());
        for s in &t.seeds {
            let ok = (t.read)(&(t.wrap)(s, s.bytes.clone()));
            let hostile = ["evil", "bad_view"].iter().any(|h| s.name.contains(h));
            assert_eq!(ok.is_ok(), !hostile, "{} {}: {ok:?}", t.name, s.name);
            let stops = s.ops.iter().filter(|&&(at, _)| s.bytes[at] == b'.').count();
            match t.name {
                "pth-legacy" => assert_eq!(stops, 5, "{}: the pickle walk stopped early", s.name),
                "pickle" => assert_eq!(s.ops.last().map(|(at, n)| at + n), Some(s.bytes.len()), "{}", s.name),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Regressions: inputs that once made a reader panic, hang or allocate without bound.

/// The first three pickles of a legacy file (an empty system-information dict).
const LEGACY_HEADER: &[u8] =
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}.";

/// A legacy file whose object is a list of `copies` memo copies of one tensor, a broadcast
/// view (stride 0) of shape [`numel`] over a storage holding one float.
fn broadcast_copies(numel: i32, copies: usize) -> Vec<u8> {
    let tensor = [
        &b"\x80\x02]ctorch._utils\n_rebuild_tensor_v2\n("[..],
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x01NtQ",
        b"K\x00J",
        &numel.to_le_bytes(),
        b"\x85K\x00\x85tRq\x01a(",
        &b"h\x01".repeat(copies - 1),
        b"e.",
    ]
    .concat();
    let keys = b"\x80\x02]X\x01\x00\x00\x00ka.";
    [LEGACY_HEADER, &tensor, keys, &1u64.to_le_bytes(), &1f32.to_le_bytes()].concat()
}

#[test]
fn memo_copies_of_a_broadcast_tensor_are_bounded() {
    let entry = Entry::from_bytes(&broadcast_copies(3, 2)).unwrap();
    assert_eq!(entry.tensors().len(), 2);
    let start = Instant::now();
    let err = Entry::from_bytes(&broadcast_copies(1 << 24, 10_000)).unwrap_err();
    assert!(err.contains("elements"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

/// A legacy file holding the object pickle `object` and no storages.
fn legacy_file(object: &[u8]) -> Vec<u8> {
    [LEGACY_HEADER, object, &b"\x80\x02]."[..]].concat()
}

#[test]
fn memo_copies_of_a_long_string_are_bounded() {
    // A string of 100 kB, memoised, then pushed 40000 times: 4 GB from 180 kB.
    let copies = [
        &b"\x80\x02X"[..],
        &100_000u32.to_le_bytes(),
        &vec![b'a'; 100_000],
        b"q\x00(",
        &b"h\x00".repeat(40_000),
        b"l.",
    ]
    .concat();
    let err = Entry::from_bytes(&legacy_file(&copies)).unwrap_err();
    assert!(err.contains("grow the pickle far beyond its size"), "{err}");
}

#[test]
fn memo_copies_of_a_tensor_of_many_dimensions_are_bounded() {
    // A tensor of 20000 dimensions (size and stride 320 kB in memory), memoised, then pushed
    // 20000 times: 6 GB from 120 kB.
    let d = 20_000;
    let copies = [
        &b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("[..],
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x01NtQ",
        b"K\x00(",
        &b"K\x01".repeat(d),
        b"t(",
        &b"K\x01".repeat(d),
        b"ttRq\x01(",
        &b"h\x01".repeat(20_000),
        b"l.",
    ]
    .concat();
    let err = Entry::from_bytes(&legacy_file(&copies)).unwrap_err();
    assert!(err.contains("grow the pickle far beyond its size"), "{err}");
}

/// A grey image of a fixture as a JPEG or PNG, its declared size then set to 16000 x 16000:
/// 256 MB as decoded, 768 MB as RGB, from a few hundred bytes.
fn huge_grey(format: image::ImageFormat) -> Vec<u8> {
    let img = image::load_from_memory(&fixture("stargan/translate_in.png").1).unwrap().to_luma8();
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
    let size = 16_000u32.to_be_bytes();
    if format == image::ImageFormat::Jpeg {
        let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&size[2..]);
        bytes[sof + 7..sof + 9].copy_from_slice(&size[2..]);
    } else {
        bytes[16..20].copy_from_slice(&size);
        bytes[20..24].copy_from_slice(&size);
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    }
    bytes
}

#[test]
fn images_declaring_more_than_512_mib_as_rgb_are_refused() {
    // jpeg case 31483 of the first campaign: a 15888 x 14864 grey JPEG of 460 bytes decoded
    // (2.4 s) and became a 708 MB RGB image.
    for format in [image::ImageFormat::Jpeg, image::ImageFormat::Png] {
        let err = decode_rgb(&huge_grey(format)).unwrap_err();
        assert!(err.contains("16000x16000 image is too large"), "{format:?}: {err}");
    }
}

#[test]
fn a_grey_jpeg_of_height_65535_with_subsampling_is_refused() {
    // jpeg case 20867 of the campaign with GANTRY_FUZZ_SEED=1: a grey JPEG whose component
    // has sampling factors 1x2 and whose height is 65535 panicked in debug builds ("attempt
    // to add with overflow" in zune-jpeg's mcu.rs: (height + 7) / 8 in u16).
    let img = image::load_from_memory(&fixture("stargan/translate_in.png").1).unwrap().to_luma8();
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg).unwrap();
    let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&[0xff, 0xff]);
    bytes[sof + 11] = 0x12;
    let err = catch_unwind(|| decode_rgb(&bytes)).expect("no panic").unwrap_err();
    assert!(err.contains("65535") && err.contains("JPEG"), "{err}");
}
