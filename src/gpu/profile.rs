//! A profile of the GPU work an operation records: per (kernel family, entry point), the
//! number of dispatches and the wall time from recording a dispatch to the GPU finishing
//! it. While a profile runs, every dispatch is submitted and waited for on its own, so the
//! times add up each kernel's own work plus its recording and one submission; they are
//! wall times with a sync after every dispatch (slower in sum than an unprofiled run,
//! whose submissions overlap), which the report says.

use std::collections::HashMap;
use std::time::Duration;

/// One kernel entry point's share of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileLine {
    pub family: &'static str,
    pub entry: &'static str,
    pub dispatches: usize,
    pub seconds: f64,
}

/// What a profile collects while it runs.
#[derive(Default)]
pub(crate) struct Profile {
    lines: HashMap<(&'static str, &'static str), (usize, Duration)>,
}

impl Profile {
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
