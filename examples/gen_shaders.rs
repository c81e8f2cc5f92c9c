//! Regenerates the committed WGSL of the CPU kernels (`shaders/matmul_cpu.wgsl`,
//! `shaders/conv2d_cpu*.wgsl`) from their generator, `src/ops/gen_shaders.rs`. Run it after
//! changing a generator, then rebuild: the registry embeds the files at compile time.
//!
//! `cargo run --example gen_shaders`

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for (family, source) in gantry::ops::gen_shaders::generate() {
        let path = dir.join(format!("{}.wgsl", family.name));
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == source);
        if !unchanged {
            std::fs::write(&path, &source)?;
        }
        println!("{} {}", if unchanged { "unchanged" } else { "wrote" }, path.display());
    }
    Ok(())
}
