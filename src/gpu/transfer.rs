//! Copies between the host and the GPU: uploads recorded into the open batch, and
//! readbacks, which are sync points.

use super::{profile, Device, Storage};
use crate::error::{Error, Result};

impl Device {
    /// Records a copy of `data` into `dst`, ordered after everything recorded before it.
    pub(crate) fn upload(&self, dst: &Storage, data: &[f32]) {
        if data.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let staging = self.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gantry upload"),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: true,
        });
        staging
            .get_mapped_range_mut(..)
            .expect("a buffer mapped at creation is mappable")
            .copy_from_slice(bytes);
        staging.unmap();
        let mut s = self.state();
        let encoder = s.batch.open(&self.0.device, self.0.slot);
        encoder.copy_buffer_to_buffer(&staging, 0, dst.buffer(), 0, bytes.len() as u64);
        let me = std::thread::current().id();
        if let Some(p) = s.profile.as_mut().filter(|p| p.thread == me) {
            p.add(profile::UPLOAD.0, profile::UPLOAD.1, started.elapsed());
        }
    }

    /// Copies the first `numel` values of `src` to the host: a sync point.
    pub(crate) fn read(&self, src: &Storage, numel: usize) -> Result<Vec<f32>> {
        if numel == 0 {
            return Ok(Vec::new());
        }
        let bytes = numel as u64 * 4;
        let staging = self.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gantry readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        {
            let mut s = self.state();
            let encoder = s.batch.open(&self.0.device, self.0.slot);
            encoder.copy_buffer_to_buffer(src.buffer(), 0, &staging, 0, bytes);
            self.submit(&mut s);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv().map_err(|e| Error::Readback(e.to_string()))?.map_err(|e| Error::Readback(e.to_string()))?;
        let data = {
            let view = staging.get_mapped_range(..).map_err(|e| Error::Readback(e.to_string()))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        Ok(data)
    }
}
