//! `gantry bench --model`: a model's timed iterations and its per-kernel profile.

use crate::common::device;
use gantry::bench::model::{run_model, Shape, MODELS};
use gantry::gpu::profile::Timing;
use gantry::Tensor;

/// One profile runs on a device at a time: the tests that start one take turns.
static PROFILING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The value of `"key":` in a JSON line, as text.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[start..];
    Some(rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim_matches('"'))
}

#[test]
fn a_model_benchmark_times_iterations_and_profiles_every_dispatch() {
    let _turn = PROFILING.lock().unwrap_or_else(|e| e.into_inner());
    let d = device();
    let shape = Shape { size: 32, width: 8, batch: 1 };
    let lines = run_model(&d, "stargan-v2", shape, 1, 3).unwrap();
    let head = &lines[0];
    assert!(field(head, "iteration_ms").unwrap().parse::<f64>().unwrap() > 0.0, "{head}");
    assert!(field(head, "peak_in_use_mib").unwrap().parse::<f64>().unwrap() > 0.0, "{head}");
    let profile = &lines[1];
    let dispatches: usize = field(profile, "dispatches").unwrap().parse().unwrap();
    assert!(dispatches > 100, "{profile}");
    // StarGAN v2's upsampling uploads its index tables: counted apart from dispatches.
    let uploads: usize = field(profile, "uploads").unwrap().parse().unwrap();
    assert!(uploads > 0 && field(profile, "upload_ms").unwrap().parse::<f64>().unwrap() >= 0.0, "{profile}");
    let families: Vec<&String> = lines.iter().filter(|l| l.contains("\"family\":")).collect();
    let kernels: Vec<&String> = lines.iter().filter(|l| l.contains("\"kernel\":")).collect();
    assert_eq!(kernels.len(), 3, "--top 3");
    // Every dispatch is in exactly one family, and the shares are of the profiled wall time.
    let counted: usize =
        families.iter().map(|l| field(l, "dispatches").unwrap().parse::<usize>().unwrap()).sum();
    assert_eq!(counted, dispatches);
    let share: f64 = families.iter().map(|l| field(l, "share").unwrap().parse::<f64>().unwrap()).sum();
    assert!(share > 0.3 && share <= 1.01, "shares sum to {share}");
    assert!(families.iter().any(|l| field(l, "family") == Some("conv2d_cpu") || l.contains("conv2d")));
    let named =
        [Timing::Timestamps, Timing::Wall].iter().any(|t| field(profile, "timing") == Some(t.describe()));
    assert!(named, "the timing is named: {profile}");
    // The profile ends with the run: later work is not profiled.
    assert!(d.finish_profile().unwrap().is_empty());
    let err = run_model(&d, "stylegan", shape, 1, 3).unwrap_err().to_string();
    for m in MODELS {
        assert!(err.contains(m), "{err}");
    }
}

/// Timestamps and syncs after every dispatch see the same dispatches, over more than one
/// batch of submissions, and add up to no more than the run took. Work another thread
/// records meanwhile (here, tests running beside this one) stays out of the profile.
#[test]
fn both_profile_timings_see_the_same_dispatches() {
    let _turn = PROFILING.lock().unwrap_or_else(|e| e.into_inner());
    let d = device();
    let x = Tensor::uniform(&d, &[2, 8, 12, 12], -1.0, 1.0).unwrap();
    let work = || {
        // A new weight each run: a cached packing would save the second run a dispatch.
        let w = Tensor::uniform(&d, &[8, 8, 3, 3], -0.5, 0.5).unwrap();
        let mut y =
            x.conv2d(&w, None, gantry::ops::conv2d::Conv2d::default().padding(1)).unwrap().relu().unwrap();
        for _ in 0..300 {
            y = y.add_scalar(0.001).unwrap();
        }
        y.sum_all().unwrap().to_vec().unwrap()
    };
    let mut seen = Vec::new();
    for timing in [Timing::Wall, Timing::Timestamps] {
        if let Err(e) = d.start_profile_with(timing) {
            assert_eq!(timing, Timing::Timestamps, "{e}");
            assert!(e.to_string().contains("timestamps"), "{e}");
            continue;
        }
        let start = std::time::Instant::now();
        work();
        let lines = d.finish_profile().unwrap();
        let took = start.elapsed().as_secs_f64();
        let total: f64 = lines.iter().map(|l| l.seconds).sum();
        assert!(total > 0.0 && total <= took, "{timing:?}: {total} s of dispatches in a {took} s run");
        let mut counts: Vec<(String, usize)> =
            lines.iter().map(|l| (format!("{}::{}", l.family, l.entry), l.dispatches)).collect();
        counts.sort();
        // 2 x 8 x 12 x 12 divides by 4: the four-at-a-time map.
        assert!(counts.iter().any(|(k, n)| k == "unary::unary_map4" && *n >= 300), "{counts:?}");
        seen.push(counts);
    }
    if let [wall, stamped] = &seen[..] {
        assert_eq!(wall, stamped);
    }
}

/// `--kernels` picks which fast kernels run, the output says which, and the profile shows
/// them; a name that is not a kernel path is refused, naming the choices.
#[test]
fn bench_kernels_option_picks_the_kernels_that_run() {
    let bench = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gantry")).arg("bench").args(args).output().unwrap()
    };
    let out = bench(&["--op", "matmul", "--iters", "1", "--kernels", "tiled"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && field(&text, "kernels") == Some("tiled"), "{text}{why}");
    let model = ["--model", "stargan-v2", "--size", "32", "--width", "8", "--batch", "1", "--iters", "1"];
    let out = bench(&[&model[..], &["--kernels", "tiled", "--top", "1"]].concat());
    let (text, why) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let families: Vec<&str> = text.lines().filter_map(|l| field(l, "family")).collect();
    assert!(out.status.success() && field(&text, "kernels") == Some("tiled"), "{text}{why}");
    assert!(families.contains(&"conv2d_gpu") && !families.contains(&"conv2d_cpu"), "{families:?}");
    // `gantry devices` names each adapter's own kernels: the chosen one's are the device's.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry")).arg("devices").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let chosen = text.lines().skip_while(|l| !l.starts_with('*')).nth(1).unwrap_or_default();
    let own = format!("kernels {}", device().kernel_path().name());
    assert!(chosen.ends_with(&own), "{own} in {text}");
    let out = bench(&["--op", "matmul", "--kernels", "fast"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("\"fast\"") && err.contains("cpu, tiled, blocked"),
        "{err}"
    );
}
