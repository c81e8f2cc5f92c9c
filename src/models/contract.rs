//! The one contract every GAN model meets, after the reference's BaseModel: one training
//! iteration on a batch, named losses, named visuals, named networks and optimizers (for
//! checkpoints named as the reference names them).

use crate::error::Result;
use crate::nn::Module;
use crate::optim::Adam;
use crate::tensor::Tensor;

pub trait GanModel {
    /// One training iteration on inputs `a` and targets or other-domain images `b`;
    /// returns the named losses (a sync point).
    fn optimize(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(&'static str, f32)>>;
    /// The last iteration's images by name, for sample grids.
    fn visuals(&self) -> Vec<(&'static str, Tensor)>;
    /// Networks by the reference's checkpoint names (`G_A`, `D_B`, or `G`, `D`).
    fn networks(&self) -> Vec<(&'static str, &dyn Module)>;
    /// Optimizers by name, for saving and resuming their state.
    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)>;
}

impl GanModel for super::cyclegan::CycleGan {
    fn optimize(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(&'static str, f32)>> {
        super::cyclegan::CycleGan::optimize(self, a, b)
    }
    fn visuals(&self) -> Vec<(&'static str, Tensor)> {
        self.visuals.clone()
    }
    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G_A", &self.g_a), ("G_B", &self.g_b), ("D_A", &self.d_a), ("D_B", &self.d_b)]
    }
    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }
}

impl GanModel for super::pix2pix::Pix2Pix {
    fn optimize(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(&'static str, f32)>> {
        super::pix2pix::Pix2Pix::optimize(self, a, b)
    }
    fn visuals(&self) -> Vec<(&'static str, Tensor)> {
        self.visuals.clone()
    }
    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G", &self.g), ("D", &self.d)]
    }
    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }
}
