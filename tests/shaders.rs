//! Every `.wgsl` file parses and validates with naga, so a shader error fails `cargo test`
//! even on a machine with no GPU; and the registry embeds exactly the files on disk.

use std::path::Path;

fn validate(name: &str, source: &str) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
    validator.validate(&module).map_err(|e| format!("{name}: {}", e.emit_to_string(source)))?;
    Ok(())
}

/// Every family as the device compiles it (a prelude, if it has one, in front), and every
/// prelude on its own.
#[test]
fn every_shader_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut failures = Vec::new();
    for family in gantry::gpu::shaders::ALL {
        if let Err(e) = validate(family.name, family.source) {
            failures.push(e);
        }
    }
    for prelude in gantry::gpu::shaders::PRELUDES {
        let source = std::fs::read_to_string(dir.join(format!("{prelude}.wgsl"))).unwrap();
        if let Err(e) = validate(prelude, &source) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn registry_embeds_every_file_on_disk() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "wgsl").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    let shaders = gantry::gpu::shaders::ALL.iter().map(|f| f.name);
    let mut registered: Vec<String> =
        shaders.chain(gantry::gpu::shaders::PRELUDES.iter().copied()).map(String::from).collect();
    on_disk.sort();
    registered.sort();
    assert_eq!(on_disk, registered);
}

#[test]
fn a_broken_shader_is_reported() {
    assert!(validate("broken", "@compute @workgroup_size(1) fn f() { let x: f32 = 1u; }").is_err());
}

/// The generated CPU kernels on disk are exactly what their generator writes today, and
/// every file marked generated still has a generator.
#[test]
fn generated_shaders_match_their_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let generated = gantry::ops::gen_shaders::generate();
    let mut failures = Vec::new();
    for (family, source) in &generated {
        let path = dir.join(format!("{}.wgsl", family.name));
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == *source => {}
            Ok(on_disk) => {
                let line = on_disk.lines().zip(source.lines()).take_while(|(a, b)| a == b).count() + 1;
                failures.push(format!("{} differs from its generator from line {line}", path.display()));
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let marked =
            std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(gantry::ops::gen_shaders::MARKER));
        let stem = path.file_stem().unwrap().to_string_lossy();
        if marked && !generated.iter().any(|(f, _)| f.name == stem) {
            failures.push(format!("{} is marked generated but no generator writes it", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nregenerate with `cargo run --example gen_shaders` (a deliberate generator change) \
         or revert the hand edit",
        failures.join("\n")
    );
}

/// The entry points the CPU launchers ask for are in the families the registry embeds.
#[test]
fn generated_families_hold_their_entry_points() {
    use gantry::gpu::shaders::{CONV2D_CPU, CONV2D_CPU_WEIGHT_GRAD, MATMUL_CPU};
    let expected = [
        (
            &MATMUL_CPU,
            &["matmul_cpu_rows_n", "matmul_cpu_rows_k", "matmul_cpu_cols_n", "matmul_cpu_cols_k"][..],
        ),
        (&CONV2D_CPU, &["conv2d_cpu", "conv2d_cpu_input_grad", "conv2d_cpu_r8", "conv2d_cpu_input_grad_r8"]),
        (&CONV2D_CPU_WEIGHT_GRAD, &["conv2d_cpu_weight_grad", "conv2d_cpu_weight_grad_r8"]),
    ];
    for (family, entries) in expected {
        for entry in entries {
            assert!(family.source.contains(&format!("fn {entry}(")), "{entry} missing from {}", family.name);
        }
    }
}
