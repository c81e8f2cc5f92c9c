//! Compiled pipelines, cached per (family, entry point, override constants), and the one
//! bind-group layout per family.

use super::shaders::Family;
use std::collections::HashMap;
use std::sync::Arc;

type Key = (&'static str, &'static str, Vec<(&'static str, u64)>);

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    layouts: HashMap<&'static str, Arc<wgpu::BindGroupLayout>>,
    pipelines: HashMap<Key, Arc<wgpu::ComputePipeline>>,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl PipelineCache {
    pub fn layout(&mut self, device: &wgpu::Device, family: &Family) -> Arc<wgpu::BindGroupLayout> {
        self.layouts
            .entry(family.name)
            .or_insert_with(|| {
                let mut entries: Vec<_> = (0..family.inputs).map(|b| storage_entry(b, true)).collect();
                entries.extend((0..family.outputs).map(|b| storage_entry(family.inputs + b, false)));
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: family.inputs + family.outputs,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                });
                Arc::new(device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(family.name),
                    entries: &entries,
                }))
            })
            .clone()
    }

    pub fn pipeline(
        &mut self,
        device: &wgpu::Device,
        family: &Family,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Arc<wgpu::ComputePipeline> {
        let key: Key = (family.name, entry, constants.iter().map(|(n, v)| (*n, v.to_bits())).collect());
        if let Some(p) = self.pipelines.get(&key) {
            return p.clone();
        }
        let layout = self.layout(device, family);
        let module = self.modules.entry(family.name).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(family.name),
                source: wgpu::ShaderSource::Wgsl(family.source.into()),
            })
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(family.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = Arc::new(device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        }));
        self.pipelines.insert(key, pipeline.clone());
        pipeline
    }
}
