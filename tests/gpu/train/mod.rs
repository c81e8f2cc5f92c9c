//! The trainer: runs end to end, exact resumes, and what a run shows (grids, plots,
//! progress).

mod kill;
mod report;
mod resume;
pub mod trainer;
