//! The GPU layer: adapter choice, device and queue, buffer pool, pipeline cache and command
//! batching. Nothing here knows about tensors' shapes or gradients.

mod adapter;
mod batch;
mod kernels;
mod pipeline;
mod pool;
pub mod profile;
pub mod shaders;
mod transfer;

pub use adapter::{list_adapters, AdapterSummary};
pub use kernels::KernelPath;
pub use pool::PoolStats;
pub use shaders::Family;

use crate::error::{Error, Result};
pub(crate) use batch::linear_groups;
use batch::{slot_bytes, Batch, MAX_DISPATCHES};
use pipeline::PipelineCache;
use pool::{size_class, BufferPool};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// A handle to one GPU device. Cloning is cheap; every clone shares the pool, the pipeline
/// cache and the pending batch.
#[derive(Clone)]
pub struct Device(Arc<Inner>);

struct Inner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    slot: u64,
    /// The largest storage binding in bytes: no tensor may be bigger.
    max_binding: u64,
    /// The first error wgpu reported outside any call (validation, out of memory, a lost
    /// device), turned into our error at the next sync instead of wgpu's panic.
    failure: Arc<Mutex<Option<String>>>,
    /// The `KernelPath` that `Auto` picks, as its code.
    kernel_path: std::sync::atomic::AtomicU8,
    state: Mutex<State>,
}

struct State {
    pool: BufferPool,
    cache: PipelineCache,
    batch: Batch,
    /// Each thread's random generator position (seed, draws): threads that share the
    /// device (a test harness, a data thread) never perturb each other's streams.
    rng: std::collections::HashMap<std::thread::ThreadId, (u64, u64)>,
    /// Set while a profile runs: every dispatch is then timed (`profile.rs`).
    profile: Option<profile::Profile>,
}

/// A GPU buffer owned by one or more tensors; its buffer returns to the pool on drop.
pub(crate) struct Storage {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    device: Device,
    /// Counts writes into this buffer after its first (an optimizer's in-place update), so
    /// that values derived from it can tell they are stale.
    version: std::cell::Cell<u64>,
}

impl Storage {
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("a live storage always holds its buffer")
    }

    /// How many in-place writes this buffer has had.
    pub fn version(&self) -> u64 {
        self.version.get()
    }

    /// Records an in-place write (every kernel that writes into an existing tensor's buffer
    /// calls it).
    pub fn touch(&self) {
        self.version.set(self.version.get() + 1);
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.device.state().pool.give_back(self.class, buffer);
        }
    }
}

static DEFAULT: OnceLock<std::result::Result<Device, String>> = OnceLock::new();

impl Device {
    /// Opens the adapter chosen by `GANTRY_ADAPTER` / `WGPU_BACKEND`, or the
    /// high-performance one, with its full limits and the optional features it has.
    pub fn open() -> Result<Device> {
        let instance = adapter::instance();
        let adapter = adapter::choose(&instance)?;
        let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP;
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("gantry"),
            required_features: adapter.features() & wanted,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|e| Error::Device(e.to_string()))?;
        let failure: Arc<Mutex<Option<String>>> = Arc::default();
        let record = |failure: &Arc<Mutex<Option<String>>>, msg: String| {
            let mut slot = failure.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(msg);
        };
        let on_error = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let msg = match e {
                wgpu::Error::OutOfMemory { .. } => {
                    "the GPU ran out of memory: lower --batch-size or the image size (or close other GPU programs)".to_string()
                }
                other => format!("the GPU reported an error: {other}"),
            };
            record(&on_error, msg);
        }));
        let on_lost = failure.clone();
        device.set_device_lost_callback(move |reason, msg| {
            let reason = format!("{reason:?}");
            if reason != "Destroyed" {
                record(&on_lost, format!("the GPU device was lost ({reason}: {msg}); a driver reset or too long a kernel can cause this: try a smaller --batch-size or image size"));
            }
        });
        let limits = device.limits();
        let slot = slot_bytes(limits.min_uniform_buffer_offset_alignment);
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let state = State {
            pool: BufferPool::default(),
            cache: PipelineCache::default(),
            batch: Batch::default(),
            rng: std::collections::HashMap::new(),
            profile: None,
        };
        let summary = AdapterSummary::of(&adapter);
        let kernel_path = KernelPath::for_adapter(&summary).code().into();
        let opened = Device(Arc::new(Inner {
            device,
            queue,
            summary,
            slot,
            max_binding,
            failure,
            kernel_path,
            state: Mutex::new(state),
        }));
        Ok(opened)
    }

    /// The process-wide device, opened on first use and shared afterwards (opening devices
    /// repeatedly is slow and leaks on some drivers).
    pub fn shared() -> Result<Device> {
        let device = DEFAULT
            .get_or_init(|| Device::open().map_err(|e| e.to_string()))
            .clone()
            .map_err(Error::NoAdapter)?;
        // GANTRY_KERNELS applies to the shared device once, when first asked for.
        static KERNELS: OnceLock<std::result::Result<(), String>> = OnceLock::new();
        KERNELS
            .get_or_init(|| match KernelPath::from_env() {
                Ok(Some(path)) => device.set_kernel_path(path).map_err(|e| e.to_string()),
                Ok(None) => Ok(()),
                Err(e) => Err(e.to_string()),
            })
            .clone()
            .map_err(Error::Gpu)?;
        Ok(device)
    }

    /// The largest tensor this device can hold, in elements.
    pub fn max_tensor_elements(&self) -> usize {
        (self.0.max_binding / 4) as usize
    }

    /// What adapter this device runs on.
    pub fn summary(&self) -> &AdapterSummary {
        &self.0.summary
    }

    /// Whether this is a CPU adapter whose subgroups are always 8 lanes (lavapipe on AVX2),
    /// the shape the CPU-tuned kernels (`ops::matmul_cpu`) are written for.
    pub fn cpu_subgroup8(&self) -> bool {
        KernelPath::for_adapter(&self.0.summary) == KernelPath::Cpu
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the pool's counters, not GPU memory, in
        // doubt; carrying on is safer than poisoning every later op.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Byte counts of the buffer pool.
    pub fn pool_stats(&self) -> PoolStats {
        self.state().pool.stats()
    }

    /// Starts peak counting afresh from the current usage.
    pub fn reset_peaks(&self) {
        self.state().pool.reset_peaks();
    }

    /// Returns the pool's free buffers to the driver.
    pub fn trim(&self) {
        self.state().pool.trim();
    }

    /// Seeds the calling thread's random generator on this device and restarts its
    /// stream. Each thread draws its own reproducible stream (see `rng_state`).
    pub fn manual_seed(&self, seed: u64) {
        self.set_rng_state((seed, 0));
    }

    /// The calling thread's generator position: its seed and how many random ops have
    /// drawn from it ((0, 0) before any seed or draw).
    pub fn rng_state(&self) -> (u64, u64) {
        self.state().rng.get(&std::thread::current().id()).copied().unwrap_or((0, 0))
    }

    /// Puts the calling thread's generator back where `rng_state` found it, so a resumed
    /// run draws the same numbers as an uninterrupted one.
    pub fn set_rng_state(&self, position: (u64, u64)) {
        self.state().rng.insert(std::thread::current().id(), position);
    }

    /// Runs `f` and puts the calling thread's generator back as it was, so that work done
    /// on the side (scores, sample images) does not change a run's later draws.
    pub fn keeping_rng<T>(&self, f: impl FnOnce() -> T) -> T {
        let position = self.rng_state();
        let out = f();
        self.set_rng_state(position);
        out
    }

    /// The seed and a fresh stream number for one random op.
    pub(crate) fn next_rng_stream(&self) -> (u64, u64) {
        let mut s = self.state();
        let (seed, calls) = s.rng.entry(std::thread::current().id()).or_insert((0, 0));
        *calls += 1;
        (*seed, *calls - 1)
    }

    /// A pooled buffer of at least `numel` f32 values. Its contents are undefined.
    pub(crate) fn alloc(&self, numel: usize) -> Result<Storage> {
        let bytes = numel as u64 * 4;
        let limit = self.0.max_binding;
        if bytes > limit {
            return Err(Error::Invalid {
                op: "alloc",
                msg: format!(
                    "a tensor of {numel} elements ({} MiB) exceeds this adapter's largest storage binding of {} MiB: lower --batch-size or the image size",
                    bytes >> 20,
                    limit >> 20
                ),
            });
        }
        // Rounding up to the size class must not cross the limit either.
        let class = size_class(bytes).min(limit & !3);
        let buffer = self.state().pool.take(&self.0.device, class);
        Ok(Storage { buffer: Some(buffer), class, device: self.clone(), version: std::cell::Cell::new(0) })
    }

    /// Records one dispatch of `entry` in `family`. `params` fill the uniform block.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dispatch(
        &self,
        family: &shaders::Family,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        inputs: &[&Storage],
        outputs: &[&Storage],
        params: &[u32],
        groups: [u32; 3],
    ) {
        let started = std::time::Instant::now();
        debug_assert_eq!(inputs.len() as u32, family.inputs, "{} input count", family.name);
        debug_assert_eq!(outputs.len() as u32, family.outputs, "{} output count", family.name);
        let slot = self.0.slot;
        assert!(params.len() * 4 <= slot as usize, "{entry}: params exceed one uniform slot");
        let device = &self.0.device;
        let mut guard = self.state();
        let s = &mut *guard;
        let pipeline = s.cache.pipeline(device, family, entry, constants);
        let layout = s.cache.layout(device, family);
        s.batch.open(device, slot);
        let offset = s.batch.params.len() as u64;
        s.batch.params.extend_from_slice(bytemuck::cast_slice(params));
        s.batch.params.resize((offset + slot) as usize, 0);
        let arena = s.batch.arena.as_ref().expect("an open batch has an arena");
        let encoder = s.batch.encoder.as_mut().expect("an open batch has an encoder");
        let mut entries: Vec<wgpu::BindGroupEntry> = inputs
            .iter()
            .chain(outputs)
            .enumerate()
            .map(|(i, st)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: st.buffer().as_entire_binding(),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: family.inputs + family.outputs,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: arena,
                offset,
                size: wgpu::BufferSize::new(slot),
            }),
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &layout,
            entries: &entries,
        });
        let me = std::thread::current().id();
        let profiled = s.profile.as_mut().filter(|p| p.thread == me);
        let wall_profile = profiled.as_ref().is_some_and(|p| p.timestamps.is_none());
        {
            let timestamp_writes =
                profiled.and_then(|p| p.timestamps.as_mut()).map(|t| t.next(family.name, entry));
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        s.batch.dispatches += 1;
        if wall_profile {
            self.submit(s);
            drop(guard);
            // An error here shows at the next sync, as any other.
            let _ = self.0.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None });
            if let Some(p) = self.state().profile.as_mut() {
                p.add(family.name, entry, started.elapsed());
            }
            return;
        }
        if s.batch.dispatches >= MAX_DISPATCHES {
            self.submit(s);
        }
    }

    /// Submits the open batch. Under a timestamp profile it also resolves the batch's
    /// timestamps, waits for them and adds them to the profile.
    fn submit(&self, s: &mut State) {
        let Some(t) = s.profile.as_mut().and_then(|p| p.timestamps.as_mut()).filter(|t| t.pending()) else {
            s.batch.submit(&self.0.queue);
            return;
        };
        if let Some(encoder) = s.batch.encoder.as_mut() {
            t.resolve(encoder);
        }
        s.batch.submit(&self.0.queue);
        let times = t.collect(&self.0.device);
        if let Some(p) = s.profile.as_mut() {
            for (family, entry, took) in times {
                p.add(family, entry, took);
            }
        }
    }

    /// Starts a profile with GPU timestamps where the adapter has them, else with a sync
    /// after every dispatch (see `profile.rs`), and says which. Pending work is finished
    /// first, outside the profile.
    pub fn start_profile(&self) -> Result<profile::Timing> {
        let timing = if self.0.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            profile::Timing::Timestamps
        } else {
            profile::Timing::Wall
        };
        self.start_profile_with(timing)?;
        Ok(timing)
    }

    /// Starts a profile with the given timing; timestamps need an adapter that has them.
    pub fn start_profile_with(&self, timing: profile::Timing) -> Result<()> {
        self.sync()?;
        if self.state().profile.is_some() {
            return Err(Error::Device("a profile is already running on this device".into()));
        }
        let timestamps = match timing {
            profile::Timing::Wall => None,
            profile::Timing::Timestamps => {
                if !self.0.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
                    return Err(Error::Device(format!("{} has no GPU timestamps", self.0.summary.name)));
                }
                Some(profile::Timestamps::new(&self.0.device, &self.0.queue, MAX_DISPATCHES))
            }
        };
        self.state().profile = Some(profile::Profile::new(timestamps));
        Ok(())
    }

    /// Ends the profile and returns its lines, longest first (empty when none ran).
    pub fn finish_profile(&self) -> Result<Vec<profile::ProfileLine>> {
        self.sync()?;
        Ok(self.state().profile.take().map(profile::Profile::finish).unwrap_or_default())
    }

    /// Dispatch for one invocation per element, in workgroups of 256.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dispatch_linear(
        &self,
        family: &shaders::Family,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        inputs: &[&Storage],
        outputs: &[&Storage],
        params: &[u32],
        n: usize,
    ) {
        let groups = linear_groups(n, 256);
        self.dispatch(family, entry, constants, inputs, outputs, params, groups);
    }

    /// Submits pending work without waiting for it.
    pub fn flush(&self) {
        self.submit(&mut self.state());
    }

    /// Submits pending work and waits until the GPU has finished all of it.
    pub fn sync(&self) -> Result<()> {
        self.flush();
        self.wait()
    }

    fn wait(&self) -> Result<()> {
        self.0
            .device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: None })
            .map_err(|e| Error::Readback(e.to_string()))?;
        self.check()
    }

    /// The error wgpu reported since the device opened, if any: once the device has
    /// failed, every later sync reports it.
    pub fn check(&self) -> Result<()> {
        match self.0.failure.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(msg) => Err(Error::Gpu(msg.clone())),
            None => Ok(()),
        }
    }
}

impl PartialEq for Device {
    /// Two handles are equal when they share one GPU device.
    fn eq(&self, other: &Device) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({} on {})", self.0.summary.name, self.0.summary.backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error wgpu reports outside any call (here a buffer it refuses) becomes our error
    /// at the next sync, instead of wgpu's default panic.
    #[test]
    fn a_gpu_error_is_reported_at_the_next_sync() {
        let d = Device::open().expect("tests need a GPU adapter; on a CPU install mesa-vulkan-drivers");
        d.sync().unwrap();
        let _refused = d.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("invalid on purpose"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let err = d.sync().unwrap_err().to_string();
        assert!(err.contains("the GPU reported an error"), "{err}");
        assert!(d.check().is_err(), "a failed device stays failed");
    }
}
