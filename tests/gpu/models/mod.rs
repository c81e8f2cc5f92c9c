//! Each model against its PyTorch reference: networks, losses, and training iterations
//! through the shared `parity` helper.

mod cyclegan;
mod fastgan;
mod fastgan_cli;
mod fastgan_train;
mod image2image;
mod losses;
mod lpips;
pub mod parity;
mod pix2pix;
mod stargan;
mod stargan_cli;
mod stargan_v2;
mod stargan_v2_cli;
mod stargan_v2_fan;
mod stargan_v2_train;
