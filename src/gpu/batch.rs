//! Command batching. Ops record dispatches into one pending command encoder; their uniform
//! parameters go into a per-batch arena buffer (one slot per dispatch) instead of a buffer
//! each. A batch is submitted when it reaches `MAX_DISPATCHES` or at a sync point.

/// Dispatches per submission. Small enough that the GPU starts early, large enough that
/// submission overhead stays negligible.
pub(crate) const MAX_DISPATCHES: u32 = 256;

/// Bytes of one parameter slot: at least the adapter's uniform offset alignment, and large
/// enough for every family's `Params` struct.
pub(crate) fn slot_bytes(alignment: u32) -> u64 {
    u64::from(alignment).max(256)
}

#[derive(Default)]
pub(crate) struct Batch {
    pub encoder: Option<wgpu::CommandEncoder>,
    pub arena: Option<wgpu::Buffer>,
    pub params: Vec<u8>,
    pub dispatches: u32,
}

impl Batch {
    /// The encoder of the open batch, opening a batch (encoder and arena) if needed.
    pub fn open(&mut self, device: &wgpu::Device, slot: u64) -> &mut wgpu::CommandEncoder {
        if self.encoder.is_none() {
            self.encoder = Some(device.create_command_encoder(&Default::default()));
            self.arena = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gantry params"),
                size: slot * u64::from(MAX_DISPATCHES),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
            self.params.clear();
            self.dispatches = 0;
        }
        self.encoder.as_mut().expect("opened above")
    }

    /// Submits the open batch, writing its parameters first.
    pub fn submit(&mut self, queue: &wgpu::Queue) {
        let Some(encoder) = self.encoder.take() else {
            return;
        };
        let arena = self.arena.take().expect("an open batch always has an arena");
        if !self.params.is_empty() {
            queue.write_buffer(&arena, 0, &self.params);
        }
        queue.submit([encoder.finish()]);
        self.params.clear();
        self.dispatches = 0;
    }
}

/// Workgroup counts for `n` invocations in 1-D workgroups of `size`, folded into y when x
/// would exceed the 65535 limit. Shaders recover the linear index as
/// `gid.x + gid.y * nwg.x * size`.
pub(crate) fn linear_groups(n: usize, size: u32) -> [u32; 3] {
    let groups = n.div_ceil(size as usize).max(1);
    if groups <= 65535 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(65535);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}
