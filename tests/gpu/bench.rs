//! `gantry bench --model`: a model's timed iterations and its per-kernel profile.

use crate::common::device;
use gantry::bench::model::{run_model, Shape, MODELS};

/// The value of `"key":` in a JSON line, as text.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[start..];
    Some(rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim_matches('"'))
}

#[test]
fn a_model_benchmark_times_iterations_and_profiles_every_dispatch() {
    let d = device();
    let shape = Shape { size: 32, width: 8, batch: 1 };
    let lines = run_model(&d, "stargan-v2", shape, 1, 3).unwrap();
    let head = &lines[0];
    assert!(field(head, "iteration_ms").unwrap().parse::<f64>().unwrap() > 0.0, "{head}");
    assert!(field(head, "peak_in_use_mib").unwrap().parse::<f64>().unwrap() > 0.0, "{head}");
    let profile = &lines[1];
    let dispatches: usize = field(profile, "dispatches").unwrap().parse().unwrap();
    assert!(dispatches > 100, "{profile}");
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
    assert!(profile.contains("a sync after every dispatch"), "the timing is named: {profile}");
    // The profile ends with the run: later work is not profiled.
    assert!(d.finish_profile().unwrap().is_empty());
    let err = run_model(&d, "stylegan", shape, 1, 3).unwrap_err().to_string();
    for m in MODELS {
        assert!(err.contains(m), "{err}");
    }
}
