//! The trainer: runs end to end, exact resumes, and what a run shows (grids, plots,
//! progress).

mod report;
mod resume;
pub mod trainer;
