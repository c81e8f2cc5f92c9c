//! Adapter choice: `GANTRY_ADAPTER=<name substring>` picks by name, wgpu's own
//! `WGPU_BACKEND` narrows the backends, otherwise the high-performance adapter wins.

use crate::error::{Error, Result};

/// A one-line summary of an adapter, as `gantry devices` prints it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub max_storage_binding_mib: u64,
    pub max_buffer_mib: u64,
    pub max_workgroup_invocations: u32,
    pub max_workgroup_storage_kib: u32,
    pub timestamps: bool,
    pub f16: bool,
    pub subgroups: bool,
    /// The smallest and largest subgroup sizes the adapter may use.
    pub subgroup_sizes: (u32, u32),
}

impl AdapterSummary {
    pub(crate) fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
            max_storage_binding_mib: limits.max_storage_buffer_binding_size >> 20,
            max_buffer_mib: limits.max_buffer_size >> 20,
            max_workgroup_invocations: limits.max_compute_invocations_per_workgroup,
            max_workgroup_storage_kib: limits.max_compute_workgroup_storage_size >> 10,
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_sizes: (info.subgroup_min_size, info.subgroup_max_size),
        }
    }
}

pub(crate) fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu can see with the current `WGPU_BACKEND`.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let instance = instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.iter().map(AdapterSummary::of).collect()
}

/// Picks the adapter the user asked for, or the high-performance one.
pub(crate) fn choose(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    let wanted = std::env::var("GANTRY_ADAPTER").ok().filter(|s| !s.is_empty());
    if let Some(wanted) = wanted {
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        let needle = wanted.to_lowercase();
        return adapters.into_iter().find(|a| a.get_info().name.to_lowercase().contains(&needle)).ok_or_else(
            || Error::NoAdapter(format!("GANTRY_ADAPTER={wanted:?} matches none of the adapters {names:?}")),
        );
    }
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        apply_limit_buckets: false,
    };
    pollster::block_on(instance.request_adapter(&options)).map_err(|e| Error::NoAdapter(e.to_string()))
}
