//! Writes `shaders/matmul_cpu.wgsl`: the four entry points of the matrix product for CPU
//! adapters, one per pair of read modes. The scheme is explained in `matmul_cpu`.

use super::gen_shaders::{comp, Wgsl};
use super::matmul_cpu::{entry_name, AMode, BMode, TILE_COLS, TILE_ROWS};
use crate::gpu::shaders::{params_block, MATMUL};

const HEAD: &str = "\
// The scheme is explained in src/ops/matmul_cpu.rs. C[b] = A[b] · B[b] for CPU adapters
// with 8-lane subgroups. A and B are read as vec4s along their contiguous side. Params as
// shaders/matmul_params.wgsl.
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
";

/// The WGSL of the four entry points.
pub(crate) fn source() -> String {
    let head = format!("{HEAD}\n{}\n", params_block(&MATMUL));
    let mut s = Wgsl::new("src/ops/gen_matmul_cpu.rs", &head, TILE_ROWS);
    for a in [AMode::Rows, AMode::Cols] {
        for b in [BMode::N, BMode::K] {
            entry(&mut s, a, b);
        }
    }
    s.finish()
}

fn entry(s: &mut Wgsl, amode: AMode, bmode: BMode) {
    let r = s.rows;
    let doc =
        [format!("Dispatch (ceil(n / {TILE_COLS}), ceil(m / {r}), batch); one subgroup per workgroup.")];
    s.head(entry_name(amode, bmode), &doc);
    s.line(1, "let bt = wid.z;");
    s.line(1, "let K = p.k;");
    s.line(1, "let a0 = bt * p.a_batch / 4u;");
    s.line(1, "let b0 = bt * p.b_batch / 4u;");
    s.line(1, "let c0 = bt * p.m * p.n;");
    match bmode {
        BMode::N => {
            // Column groups q0 and q0 + 8, each 4 columns wide; B's row stride in vec4s.
            s.line(1, "let n4 = p.n / 4u;");
            s.line(1, "let q0 = wid.x * 16u + lane;");
            s.line(1, "let br = p.b_row / 4u;");
            s.line(1, "let bq0 = b0 + min(q0, n4 - 1u);");
            s.line(1, "let bq1 = b0 + min(q0 + 8u, n4 - 1u);");
        }
        BMode::K => {
            // Columns n0 + 8c; each column is k contiguous values, K / 4 vec4s.
            s.line(1, "let k4 = K / 4u;");
            s.line(1, "let n0 = wid.x * 64u + lane;");
            for c in 0..8 {
                s.line(1, format!("let bq{c} = b0 + min(n0 + {}u, p.n - 1u) * (p.b_col / 4u);", 8 * c));
            }
        }
    }
    match amode {
        AMode::Rows => {
            s.line(1, "let ka4 = p.a_row / 4u;");
            for rr in 0..4 {
                s.line(1, format!("let ar{rr} = a0 + min(row0 + 4u * lane + {rr}u, p.m - 1u) * ka4;"));
            }
        }
        AMode::Cols => {
            s.line(1, "let m4 = p.m / 4u;");
            s.line(1, "let ka = p.a_col / 4u;");
            for g in 0..r / 4 {
                s.line(1, format!("let ag{g} = min(row0 / 4u + {g}u, m4 - 1u);"));
            }
        }
    }
    s.accumulators();
    s.line(1, "for (var k0 = 0u; k0 < K; k0 += 8u) {");
    k_chunk(s, amode, bmode);
    s.line(1, "}");
    store(s, bmode);
    s.line(0, "}");
}

/// The body of the loop over k: 8 steps of k from k0.
fn k_chunk(s: &mut Wgsl, amode: AMode, bmode: BMode) {
    // k % 4 == 0 whenever something is read along k: steps k0..k0+4 are whole, and the
    // second half of a chunk is zero past the end of k.
    s.line(2, "let h0 = k0 / 4u;");
    s.line(2, "let live1 = k0 + 4u < K;");
    match amode {
        AMode::Rows => {
            s.line(2, "let ha1 = min(h0 + 1u, ka4 - 1u);");
            for rr in 0..4 {
                s.line(2, format!("let xa{rr}_0 = a[ar{rr} + h0];"));
                s.line(2, format!("let xa{rr}_1 = select(vec4<f32>(), a[ar{rr} + ha1], live1);"));
            }
        }
        AMode::Cols => {
            s.line(2, "let kl = k0 + lane;");
            s.line(2, "let km = a0 + min(kl, K - 1u) * ka;");
            for g in 0..s.rows / 4 {
                s.line(2, format!("let xt{g} = select(vec4<f32>(), a[km + ag{g}], kl < K);"));
            }
        }
    }
    if bmode == BMode::K {
        s.line(2, "// The 8 steps of k of each column: two vec4s.");
        s.line(2, "let h1 = min(h0 + 1u, k4 - 1u);");
        for c in 0..8 {
            s.line(2, format!("let u{c}_0 = b[bq{c} + h0];"));
            s.line(2, format!("let u{c}_1 = select(vec4<f32>(), b[bq{c} + h1], live1);"));
        }
    }
    for j in 0..8 {
        s.line(2, "{");
        match bmode {
            BMode::N => {
                s.line(3, format!("let live = k0 + {j}u < K;"));
                s.line(3, format!("let kb = min(k0 + {j}u, K - 1u) * br;"));
                s.line(3, "let bv0 = select(vec4<f32>(), b[bq0 + kb], live);");
                s.line(3, "let bv1 = select(vec4<f32>(), b[bq1 + kb], live);");
            }
            BMode::K => {
                let (h, cj) = (j / 4, comp(j % 4));
                let pick =
                    |c0: usize| (c0..c0 + 4).map(|c| format!("u{c}_{h}.{cj}")).collect::<Vec<_>>().join(", ");
                s.line(3, format!("let bv0 = vec4({});", pick(0)));
                s.line(3, format!("let bv1 = vec4({});", pick(4)));
            }
        }
        for i in 0..s.rows {
            let y = match amode {
                AMode::Rows => {
                    format!("subgroupBroadcast(xa{}_{}.{}, {}u)", i % 4, j / 4, comp(j % 4), i / 4)
                }
                AMode::Cols => format!("subgroupBroadcast(xt{}.{}, {j}u)", i / 4, comp(i % 4)),
            };
            s.fma(3, i, &y);
        }
        s.line(2, "}");
    }
}

/// Stores the rows of the tile that exist, each lane its own 8 columns.
fn store(s: &mut Wgsl, bmode: BMode) {
    for i in 0..s.rows {
        s.line(1, format!("if row0 + {i}u < p.m {{"));
        s.line(2, format!("let o = c0 + (row0 + {i}u) * p.n;"));
        match bmode {
            BMode::N => {
                for (h, q) in [(0, "q0"), (1, "q0 + 8u")] {
                    s.line(2, format!("if {q} < n4 {{ let t = o + ({q}) * 4u; let v = acc{i}_{h}; c[t] = v.x; c[t + 1u] = v.y; c[t + 2u] = v.z; c[t + 3u] = v.w; }}"));
                }
            }
            BMode::K => {
                for cc in 0..8 {
                    let (h, cj) = (cc / 4, comp(cc % 4));
                    s.line(
                        2,
                        format!("if n0 + {}u < p.n {{ c[o + n0 + {}u] = acc{i}_{h}.{cj}; }}", 8 * cc, 8 * cc),
                    );
                }
            }
        }
        s.line(1, "}");
    }
}
