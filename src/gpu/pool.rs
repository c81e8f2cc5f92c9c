//! A size-classed buffer pool. Dropped tensors hand their buffers back here and later ops
//! reuse them; GPU queue order makes that safe, because every use of the old tensor was
//! recorded before the buffer could be handed out again.

use std::collections::HashMap;

/// Byte counts of the pool, for memory tests and `gantry bench`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes held by live tensors now.
    pub in_use: u64,
    /// The most bytes live tensors ever held at once.
    pub peak_in_use: u64,
    /// Bytes allocated from the driver (in use plus free in the pool).
    pub reserved: u64,
    /// The most bytes ever allocated from the driver at once.
    pub peak_reserved: u64,
    /// Buffers created from the driver over the device's life.
    pub allocations: u64,
}

#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    stats: PoolStats,
}

/// Rounds a request up to its size class: eighths of the enclosing power of two, so at most
/// 12.5 % is wasted while nearby sizes still share buffers.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let pow = bytes.next_power_of_two();
    let step = (pow / 16).max(256);
    bytes.div_ceil(step) * step
}

impl BufferPool {
    pub fn take(&mut self, device: &wgpu::Device, class: u64) -> wgpu::Buffer {
        let buffer = match self.free.get_mut(&class).and_then(Vec::pop) {
            Some(buffer) => buffer,
            None => {
                self.stats.allocations += 1;
                self.stats.reserved += class;
                self.stats.peak_reserved = self.stats.peak_reserved.max(self.stats.reserved);
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gantry tensor"),
                    size: class,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            }
        };
        self.stats.in_use += class;
        self.stats.peak_in_use = self.stats.peak_in_use.max(self.stats.in_use);
        buffer
    }

    pub fn give_back(&mut self, class: u64, buffer: wgpu::Buffer) {
        self.stats.in_use -= class;
        self.free.entry(class).or_default().push(buffer);
    }

    /// Drops every free buffer, returning memory to the driver.
    pub fn trim(&mut self) {
        let freed: u64 = self.free.iter().map(|(c, v)| c * v.len() as u64).sum();
        self.free.clear();
        self.stats.reserved -= freed;
    }

    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    pub fn reset_peaks(&mut self) {
        self.stats.peak_in_use = self.stats.in_use;
        self.stats.peak_reserved = self.stats.reserved;
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn classes_round_up_by_at_most_an_eighth() {
        for bytes in [1u64, 255, 256, 257, 1000, 4096, 4097, 100_000, 1 << 20, (1 << 20) + 1] {
            let class = size_class(bytes);
            assert!(class >= bytes, "{bytes} -> {class}");
            assert!(class <= (bytes.max(256) * 9).div_ceil(8).max(512), "{bytes} -> {class}");
        }
        assert_eq!(size_class(4000), size_class(4050));
    }
}
