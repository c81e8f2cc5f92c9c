//! `where(cond, a, b)` with broadcasting of all three (shaders/select.wgsl).

use crate::error::Result;
use crate::gpu::shaders::SELECT;
use crate::tensor::shape::{broadcast, broadcast_strides4, check_rank, pad4};
use crate::tensor::Tensor;

impl Tensor {
    /// Picks `a` where `cond` is non-zero and `b` elsewhere. `cond` gets no gradient; `a`
    /// gets the output gradient where it was picked and `b` the rest.
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        a.same_device("where", &[cond, b])?;
        let shape = broadcast("where", &broadcast("where", cond.shape(), a.shape())?, b.shape())?;
        check_rank("where", &shape)?;
        let n: usize = shape.iter().product();
        let device = a.device();
        let out = device.alloc(n)?;
        if n > 0 {
            let mut params = vec![n as u32, 0, 0, 0];
            params.extend(pad4(&shape));
            for t in [cond, a, b] {
                params.extend(broadcast_strides4(t.shape(), &shape));
            }
            let (sc, sa, sb) = (cond.storage(), a.storage(), b.storage());
            device.dispatch_linear(&SELECT, "select_where", &[], &[&sc, &sa, &sb], &[&out], &params, n);
        }
        let cond = cond.detach();
        Ok(Tensor::from_op(shape, out, "where", &[a, b], move |inp, _, g| {
            let zero = Tensor::zeros(g.device(), &[])?;
            let ga = Tensor::where_(&cond, g, &zero)?;
            let gb = Tensor::where_(&cond, &zero, g)?;
            Ok(vec![Some(ga.sum_to(inp[0].shape())?), Some(gb.sum_to(inp[1].shape())?)])
        }))
    }
}
