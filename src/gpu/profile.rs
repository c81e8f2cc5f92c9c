//! A profile of the GPU work an operation records: per (kernel family, entry point), the
//! number of dispatches and the time they took. Two timings, named in every report:
//!
//! - GPU timestamps (`Timing::Timestamps`, where the adapter has `TIMESTAMP_QUERY`): every
//!   dispatch's compute pass writes a timestamp at its start and end, resolved when its
//!   batch is submitted. Work is batched as in an unprofiled run; each batch waits for its
//!   timestamps to be read back before the next is recorded.
//! - Wall time with a sync after every dispatch (`Timing::Wall`, on any adapter): every
//!   dispatch is submitted and waited for on its own, so the times add up each kernel's
//!   own work plus its recording and one submission (slower in sum than an unprofiled run,
//!   and most so for small dispatches).

//!
//! Host-to-GPU copies (constants, inputs) are listed too, as the family and entry of
//! `UPLOAD`, with the host time their staging took (creating and filling a buffer, and
//! recording the copy); they are not dispatches.

use std::collections::HashMap;

/// The (family, entry) under which a profile lists uploads.
pub const UPLOAD: (&str, &str) = ("upload", "host_to_gpu");
use std::time::Duration;

/// How a profile times dispatches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Timestamps the GPU writes around every dispatch.
    Timestamps,
    /// Wall time with a sync after every dispatch.
    Wall,
}

impl Timing {
    /// The words reports use for this timing.
    pub fn describe(self) -> &'static str {
        match self {
            Timing::Timestamps => "GPU timestamps around every dispatch",
            Timing::Wall => "wall time with a sync after every dispatch",
        }
    }
}

/// One kernel entry point's share of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileLine {
    pub family: &'static str,
    pub entry: &'static str,
    pub dispatches: usize,
    pub seconds: f64,
}

/// What a profile collects while it runs, from the dispatches of the thread that started
/// it (other threads sharing the device, such as a data loader or a test harness, run
/// unprofiled beside it).
pub(crate) struct Profile {
    pub thread: std::thread::ThreadId,
    lines: HashMap<(&'static str, &'static str), (usize, Duration)>,
    /// Present when the profile uses timestamps.
    pub timestamps: Option<Timestamps>,
}

impl Profile {
    pub(crate) fn new(timestamps: Option<Timestamps>) -> Profile {
        Profile { thread: std::thread::current().id(), lines: HashMap::new(), timestamps }
    }

    pub(crate) fn add(&mut self, family: &'static str, entry: &'static str, took: Duration) {
        let line = self.lines.entry((family, entry)).or_default();
        line.0 += 1;
        line.1 += took;
    }

    /// The lines, longest first.
    pub(crate) fn finish(self) -> Vec<ProfileLine> {
        let mut out: Vec<ProfileLine> = self
            .lines
            .into_iter()
            .map(|((family, entry), (dispatches, took))| ProfileLine {
                family,
                entry,
                dispatches,
                seconds: took.as_secs_f64(),
            })
            .collect();
        out.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.entry.cmp(b.entry)));
        out
    }
}

/// The timestamp queries of one batch: two per dispatch, in recording order.
pub(crate) struct Timestamps {
    set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    nanos_per_tick: f64,
    pending: Vec<(&'static str, &'static str)>,
}

impl Timestamps {
    /// Queries for `dispatches` per batch.
    pub(crate) fn new(device: &wgpu::Device, queue: &wgpu::Queue, dispatches: u32) -> Timestamps {
        let count = 2 * dispatches;
        let bytes = u64::from(count) * 8;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Timestamps {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("gantry profile"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolved: buffer(
                "gantry profile resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "gantry profile readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            nanos_per_tick: f64::from(queue.get_timestamp_period()),
            pending: Vec::new(),
        }
    }

    /// The timestamp writes for the next dispatch's pass.
    pub(crate) fn next(
        &mut self,
        family: &'static str,
        entry: &'static str,
    ) -> wgpu::ComputePassTimestampWrites<'_> {
        let at = 2 * self.pending.len() as u32;
        assert!(at < self.set.count(), "a batch holds at most {} profiled dispatches", self.set.count() / 2);
        self.pending.push((family, entry));
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(at),
            end_of_pass_write_index: Some(at + 1),
        }
    }

    /// Whether dispatches await their timestamps.
    pub(crate) fn pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Records copying the batch's timestamps to the host-readable buffer.
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let count = 2 * self.pending.len() as u32;
        encoder.resolve_query_set(&self.set, 0..count, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, u64::from(count) * 8);
    }

    /// After the batch was submitted: waits for it, and returns each dispatch with its
    /// time. Errors show at the next sync, as any other.
    pub(crate) fn collect(&mut self, device: &wgpu::Device) -> Vec<(&'static str, &'static str, Duration)> {
        let pending = std::mem::take(&mut self.pending);
        let bytes = pending.len() as u64 * 16;
        let (tx, rx) = std::sync::mpsc::channel();
        self.readback.slice(..bytes).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let _ = device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None });
        if !matches!(rx.recv(), Ok(Ok(()))) {
            return Vec::new();
        }
        let ticks: Vec<u64> = match self.readback.get_mapped_range(..bytes) {
            Ok(view) => bytemuck::cast_slice::<u8, u64>(&view).to_vec(),
            Err(_) => Vec::new(),
        };
        self.readback.unmap();
        pending
            .into_iter()
            .zip(ticks.chunks_exact(2))
            .map(|((family, entry), t)| {
                let nanos = t[1].saturating_sub(t[0]) as f64 * self.nanos_per_tick;
                (family, entry, Duration::from_nanos(nanos as u64))
            })
            .collect()
    }
}
