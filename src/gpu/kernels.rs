//! Which fast kernels a device's `Auto` choices run: each adapter type has kernels written
//! for it, and `GANTRY_KERNELS=cpu|tiled|blocked` (or `gantry bench --kernels`) picks
//! another set to compare.

use super::Device;
use crate::error::{Error, Result};
use std::sync::atomic::Ordering;

/// The kernels that conv and matmul pick with `Auto`, where their shape conditions hold
/// (naive elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPath {
    /// Unrolled register-blocked kernels for CPU adapters with 8-lane subgroups
    /// (lavapipe on AVX2): `ops::conv2d_cpu`, `ops::matmul_cpu`.
    Cpu,
    /// Workgroup-memory tiles for discrete and integrated GPUs: `ops::conv2d_gpu`,
    /// `ops::matmul_gpu`.
    Tiled,
    /// Register-blocked kernels without workgroup memory, for any other CPU adapter.
    Blocked,
}

impl KernelPath {
    /// The kernels written for this adapter.
    pub(crate) fn for_adapter(summary: &super::AdapterSummary) -> KernelPath {
        let cpu = summary.device_type == format!("{:?}", wgpu::DeviceType::Cpu);
        match (cpu, summary.subgroups && summary.subgroup_sizes == (8, 8)) {
            (true, true) => KernelPath::Cpu,
            (true, false) => KernelPath::Blocked,
            (false, _) => KernelPath::Tiled,
        }
    }

    pub(super) fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> KernelPath {
        [KernelPath::Cpu, KernelPath::Tiled, KernelPath::Blocked][usize::from(code)]
    }

    /// The path named `name` (`cpu`, `tiled` or `blocked`); `what` names the setting in
    /// the error.
    pub fn parse(name: &str, what: &'static str) -> Result<KernelPath> {
        let all = [KernelPath::Cpu, KernelPath::Tiled, KernelPath::Blocked];
        all.into_iter().find(|p| p.name() == name).ok_or_else(|| Error::Invalid {
            op: what,
            msg: format!("{name:?} is none of cpu, tiled, blocked"),
        })
    }

    /// The path `GANTRY_KERNELS` names, if set.
    pub(super) fn from_env() -> Result<Option<KernelPath>> {
        match std::env::var("GANTRY_KERNELS") {
            Ok(name) if !name.is_empty() => KernelPath::parse(&name, "GANTRY_KERNELS").map(Some),
            _ => Ok(None),
        }
    }

    /// The lower-case name `--kernels` takes and benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Cpu => "cpu",
            KernelPath::Tiled => "tiled",
            KernelPath::Blocked => "blocked",
        }
    }
}

impl Device {
    /// Invocations per workgroup of the reductions that end in a workgroup-memory tree
    /// (reduce, norm, spectral norm): 256 with the GPU kernels; 16 otherwise, since CPU
    /// adapters run every barrier as a pass over the workgroup's subgroups (CycleGAN 64/16
    /// on lavapipe: its bias-gradient sums 67-69 ms of an iteration at 256, 13-16 at 16;
    /// its instance norms 71-72 ms forward at 64, 32-34 at 16).
    pub fn tree_width(&self) -> u32 {
        if self.kernel_path() == KernelPath::Tiled {
            256
        } else {
            16
        }
    }

    /// The kernels `Auto` picks on this device: those written for its adapter unless
    /// `set_kernel_path` chose others.
    pub fn kernel_path(&self) -> KernelPath {
        KernelPath::from_code(self.0.kernel_path.load(Ordering::Relaxed))
    }

    /// Makes `Auto` pick `path`'s kernels from now on, in every thread. The CPU kernels need
    /// a CPU adapter with 8-lane subgroups; the others run anywhere.
    pub fn set_kernel_path(&self, path: KernelPath) -> Result<()> {
        if path == KernelPath::Cpu && !self.cpu_subgroup8() {
            return Err(Error::Invalid {
                op: "kernel path",
                msg: format!(
                    "the cpu kernels need a CPU adapter with 8-lane subgroups, and {} is a {} ({} subgroups)",
                    self.0.summary.name,
                    self.0.summary.device_type,
                    if self.0.summary.subgroups {
                        format!(
                            "{}-{} lane",
                            self.0.summary.subgroup_sizes.0, self.0.summary.subgroup_sizes.1
                        )
                    } else {
                        "no".to_string()
                    }
                ),
            });
        }
        self.0.kernel_path.store(path.code(), Ordering::Relaxed);
        Ok(())
    }
}
