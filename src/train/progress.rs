//! How far training has come, on stderr: an `indicatif` bar when stderr is a terminal, and
//! otherwise (CI, a log file) a plain line every `print_freq` steps with no carriage returns.
//! Rate and ETA count only this session's steps after its first (which compiles kernels
//! and fills the buffer pool), so a resumed or just-started run reports its real speed.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// The bar's layout; the message holds epoch, rate, ETA and losses, formatted by [`status`].
const BAR_TEMPLATE: &str = "{bar:30.cyan/blue} {pos}/{len} {msg}";

/// Reports training progress; see the module documentation.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    first_step: usize,
    print_freq: usize,
    /// When this session's first step ended, and its number: the rate is measured from there.
    warm: Option<(Instant, usize)>,
}

impl Progress {
    /// `first_step` is the number of steps already done (after a resume), `print_freq` how
    /// many steps apart the plain lines are.
    pub fn new(total_steps: usize, first_step: usize, print_freq: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(BAR_TEMPLATE)
                .expect("the bar template is a valid indicatif template")
                .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(total_steps as u64), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_position(first_step as u64)
        });
        Progress { bar, total: total_steps, first_step, print_freq: print_freq.max(1), warm: None }
    }

    /// Records that the 1-based global `step` has finished, with the epoch (current, total)
    /// where the model has epochs, and the step's losses.
    pub fn update(&mut self, step: usize, epoch: Option<(usize, usize)>, losses: &[(String, f32)]) {
        let (since, warm_step) = *self.warm.get_or_insert((Instant::now(), step.max(self.first_step)));
        let done = step.saturating_sub(warm_step);
        let rate = if done == 0 { 0.0 } else { done as f64 / since.elapsed().as_secs_f64().max(1e-9) };
        let left = self.total.saturating_sub(step);
        let eta = (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate));
        match &self.bar {
            Some(bar) => {
                bar.set_position(step as u64);
                bar.set_message(status(epoch, rate, eta, losses));
            }
            None if step.is_multiple_of(self.print_freq) || step == self.total => {
                eprintln!("{}", plain_line(step, self.total, epoch, rate, eta, losses));
            }
            None => {}
        }
    }

    /// Prints a line (a warning, "saved checkpoint ...") without breaking the bar.
    pub fn println(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    /// Leaves the bar drawn in its final state.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// The plain-mode line, e.g.
/// `step 200/4000 (epoch 2/20) 3.1 steps/s ETA 20m 26s | D_A 0.251 G_A 0.980`.
pub fn plain_line(
    step: usize,
    total: usize,
    epoch: Option<(usize, usize)>,
    rate: f64,
    eta: Option<Duration>,
    losses: &[(String, f32)],
) -> String {
    format!("step {step}/{total} {}", status(epoch, rate, eta, losses))
}

/// Everything after the step count: epoch, rate, ETA, and the losses.
fn status(
    epoch: Option<(usize, usize)>,
    rate: f64,
    eta: Option<Duration>,
    losses: &[(String, f32)],
) -> String {
    let epoch = epoch.map(|(e, n)| format!("(epoch {e}/{n}) ")).unwrap_or_default();
    let eta = eta.map(duration).unwrap_or_else(|| "?".into());
    let losses: Vec<String> = losses.iter().map(|(n, v)| format!("{n} {}", loss(*v))).collect();
    format!("{epoch}{} steps/s ETA {eta} | {}", rate_text(rate), losses.join(" "))
}

/// Three decimals where that shows the value, scientific notation where it would not.
fn loss(v: f32) -> String {
    if v != 0.0 && v.is_finite() && !(1e-3..1e4).contains(&v.abs()) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

fn rate_text(rate: f64) -> String {
    match rate {
        r if r <= 0.0 => "?".into(),
        r if r >= 100.0 => format!("{r:.0}"),
        r if r >= 1.0 => format!("{r:.1}"),
        r => format!("{r:.2}"),
    }
}

/// A duration rounded to seconds, its two largest units: `45s`, `20m 26s`, `3h 05m`, `2d 07h`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match () {
        _ if days > 0 => format!("{days}d {hours:02}h"),
        _ if hours > 0 => format!("{hours}h {minutes:02}m"),
        _ if minutes > 0 => format!("{minutes}m {seconds:02}s"),
        _ => format!("{seconds}s"),
    }
}
