//! The matrix-product kernel for CPU adapters with 8-wide subgroups (lavapipe on AVX2):
//! its tile, read modes and entry points. The kernel, `shaders/matmul_cpu.wgsl`, is fully
//! unrolled WGSL written by `gen_matmul_cpu` (`cargo run --example gen_shaders`).
//!
//! Why a separate kernel: lavapipe runs a subgroup as the 8 lanes of one AVX2 register, and
//! in Mesa 25 every storage-buffer load whose address is not built from constants is a
//! per-lane loop with a bounds check and a branch per lane: about 30 cycles per loaded value
//! of each lane group, against about 1.5 for a multiply-add. (A load indexed by the loop
//! counter or the workgroup id counts as varying, so "uniform" rows are no cheaper.) So
//! the kernel is shaped to load as few values per multiply-add as it can:
//!
//! - Each lane holds a 32×8 tile of C: 32 rows shared by the subgroup, 8 columns of its own.
//! - A's 32 rows are loaded cooperatively, 8 steps of k at a time, as 8 vec4s per lane
//!   along A's contiguous side (`AMode`), and `subgroupBroadcast(x, lane)` hands every lane
//!   the value it needs. A broadcast from a constant lane is one register extract on this
//!   driver, so a lane loads 8 vec4s per 8 steps of k, not the 256 values it multiplies by.
//! - B's 8 columns are read as two vec4 loads: along n when B is row-major (`BMode::N`, needs
//!   n % 4 == 0), along k when it is a transposed view (`BMode::K`, needs k % 4 == 0).
//! - Each step of k is then 64 vec4 multiply-adds for 3 vector loads.
//!
//! The loops (32 rows × 8 steps) are unrolled in the file because in WGSL loops over local
//! arrays the driver kept the arrays in memory and ran 4-5× slower. GPUs want the opposite
//! (shared-memory tiles, wide workgroups) and keep `matmul_blocked`. The price of unrolling
//! is compile time: lavapipe's LLVM takes several seconds per entry point the first time;
//! Mesa's shader cache keeps the result for later runs.

/// Rows of C per subgroup (and per workgroup: a workgroup is one subgroup).
pub(crate) const TILE_ROWS: usize = 32;
/// Columns of C per workgroup: 8 lanes × 8 columns.
pub(crate) const TILE_COLS: usize = 64;

/// How A's 32 rows are read, 8 steps of k at a time, as 8 vec4s per lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AMode {
    /// A row-major (column stride 1, k % 4 == 0): lane l loads rows 4l..4l+4, each as two
    /// vec4s along k; row 4L + r at step j comes from lane L.
    Rows,
    /// A a transposed view (row stride 1, m % 4 == 0): lane l loads column k0 + l as 8
    /// vec4s along the rows; every row at step j comes from lane j.
    Cols,
}

/// How B's 8 columns per lane are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BMode {
    /// B row-major (column stride 1, n % 4 == 0): two vec4s along n, columns 4q..4q+4 for
    /// q = q0, q0 + 8.
    N,
    /// B a transposed view (row stride 1, k % 4 == 0): per column, vec4s along k; columns
    /// n0 + 8c.
    K,
}

/// The entry point for a pair of modes.
pub(crate) fn entry_name(a: AMode, b: BMode) -> &'static str {
    match (a, b) {
        (AMode::Rows, BMode::N) => "matmul_cpu_rows_n",
        (AMode::Rows, BMode::K) => "matmul_cpu_rows_k",
        (AMode::Cols, BMode::N) => "matmul_cpu_cols_n",
        (AMode::Cols, BMode::K) => "matmul_cpu_cols_k",
    }
}
