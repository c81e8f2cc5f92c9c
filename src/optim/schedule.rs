//! Learning-rate schedules as multipliers or values, as the references compute them.

/// CycleGAN's `linear` policy: the multiplier of the base learning rate during `epoch`
/// (counted from 0 as LambdaLR does, with `epoch_count` the first epoch's number):
/// 1 − max(0, epoch + epoch_count − n_epochs) / (n_epochs_decay + 1).
pub fn cyclegan_linear(epoch: usize, epoch_count: usize, n_epochs: usize, n_epochs_decay: usize) -> f32 {
    let over = (epoch + epoch_count).saturating_sub(n_epochs) as f64;
    (1.0 - over / (n_epochs_decay as f64 + 1.0)) as f32
}

/// StepLR: base · gamma^⌊epoch / step_size⌋.
pub fn step_lr(base: f32, epoch: usize, step_size: usize, gamma: f32) -> f32 {
    (base as f64 * (gamma as f64).powi((epoch / step_size.max(1)) as i32)) as f32
}

/// CosineAnnealingLR in closed form: eta_min + (base − eta_min)(1 + cos(π·epoch/t_max))/2.
pub fn cosine(base: f32, epoch: usize, t_max: usize, eta_min: f32) -> f32 {
    let phase = std::f64::consts::PI * epoch as f64 / t_max.max(1) as f64;
    (eta_min as f64 + (base - eta_min) as f64 * (1.0 + phase.cos()) / 2.0) as f32
}

/// A scalar decayed linearly from `start` to 0 over `steps` steps, never below 0
/// (StarGAN v2's λ_ds).
pub fn linear_decay(start: f32, step: usize, steps: usize) -> f32 {
    (start as f64 * (1.0 - step as f64 / steps.max(1) as f64)).max(0.0) as f32
}
