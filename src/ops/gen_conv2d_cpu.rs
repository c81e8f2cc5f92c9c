//! Writes `shaders/conv2d_cpu.wgsl` (forward and input gradient) and
//! `shaders/conv2d_cpu_weight_grad.wgsl`, each entry point for both tile heights. The
//! scheme is explained in `conv2d_cpu`.

use super::conv2d_cpu::{entries, CHANNEL_STEP, TILE_PIXELS, TILE_ROWS};
use super::gen_shaders::{comp, Wgsl};
use crate::gpu::shaders::{params_block, CONV2D};

const GENERATOR: &str = "src/ops/gen_conv2d_cpu.rs";

/// The bindings: in1 is `in1_type`, the rest as shaders/conv2d_params.wgsl, with its Params.
fn head(in1_type: &str) -> String {
    format!(
        "\
// The scheme is explained in src/ops/conv2d_cpu.rs; semantics as shaders/conv2d.wgsl,
// Params as shaders/conv2d_params.wgsl.
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<{in1_type}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

{}
",
        params_block(&CONV2D)
    )
}

/// The WGSL of the forward and input-gradient entry points.
pub(crate) fn source() -> String {
    let mut s = Wgsl::new(GENERATOR, &head("vec4<f32>"), TILE_ROWS[0]);
    for rows in TILE_ROWS {
        s.rows = rows;
        let [f, i, _] = entries(rows);
        forward(&mut s, f);
        input_grad(&mut s, i);
    }
    s.finish()
}

/// The WGSL of the weight-gradient entry points.
pub(crate) fn weight_grad_source() -> String {
    let mut s = Wgsl::new(GENERATOR, &head("f32"), TILE_ROWS[0]);
    for rows in TILE_ROWS {
        s.rows = rows;
        weight_grad(&mut s, entries(rows)[2]);
    }
    s.line(0, "");
    s.line(0, "// x at row base rb and column ix, zero outside the image or when not live.");
    s.line(0, "fn ld(rb: u32, ix: i32, live: bool) -> f32 {");
    s.line(1, "let ok = live && ix >= 0 && ix < i32(p.w);");
    s.line(1, "return select(0.0, in0[rb + u32(select(0, ix, ok))], ok);");
    s.line(0, "}");
    s.finish()
}

const PX: usize = TILE_PIXELS / 8;

/// Step j of the reduction: every row's value from lane j times the lane's 8 columns
/// (`bv0`, `bv1`). Row i's value is `v{i}`, or with `packed` rows component i % 4 of
/// `v{i / 4}`.
fn fmas(s: &mut Wgsl, ind: usize, j: usize, packed: bool) {
    for i in 0..s.rows {
        let v = if packed { format!("v{}.{}", i / 4, comp(i % 4)) } else { format!("v{i}") };
        s.fma(ind, i, &format!("subgroupBroadcast({v}, {j}u)"));
    }
}

/// The packed weight's row groups: `gq{g}`, the vec4 index of rows 4g..4g+4 of the tile
/// within a (tap, lane channel) run of `rp` rows, where `rl` is the tile's first row
/// within its group.
fn packed_rows(s: &mut Wgsl, rows_per_group: &str) {
    s.line(1, format!("let rp4 = ({rows_per_group} + 3u) / 4u;"));
    s.line(1, format!("let rl = row0 - grp * {rows_per_group};"));
    for g in 0..s.rows / 4 {
        s.line(1, format!("let gq{g} = min(rl / 4u + {g}u, rp4 - 1u);"));
    }
}

/// With a bias packed after the weight (`p.has_bias`), the sums start from it: row r's
/// bias is component r % 4 of vec4 r / 4 after the `groups · taps · lanes · rp4` of the
/// weight.
fn bias_init(s: &mut Wgsl, lanes: &str, rows_total: &str) {
    s.line(1, "if p.has_bias != 0u {");
    s.line(2, format!("let bb = p.groups * taps * {lanes} * rp4;"));
    s.line(2, format!("let br4 = ({rows_total} + 3u) / 4u;"));
    for g in 0..s.rows / 4 {
        s.line(2, format!("let bq{g} = in1[bb + min(row0 / 4u + {g}u, br4 - 1u)];"));
        for c in 0..4 {
            let (i, cc) = (4 * g + c, comp(c));
            s.line(2, format!("acc{i}_0 = vec4(bq{g}.{cc});"));
            s.line(2, format!("acc{i}_1 = vec4(bq{g}.{cc});"));
        }
    }
    s.line(1, "}");
}

/// Loads the tile's rows for one tap `t` and the lane's channel `cc` of `lanes`.
fn packed_loads(s: &mut Wgsl, ind: usize, lanes: &str) {
    s.line(ind, format!("let wb = ((grp * taps + t) * {lanes} + cc) * rp4;"));
    for g in 0..s.rows / 4 {
        s.line(ind, format!("let v{g} = select(vec4<f32>(), in1[wb + gq{g}], clive);"));
    }
}

/// Column c of the lane: its index `q{c}` among `count`, whether it exists (`live{c}`),
/// and the index clamped into range (`qc{c}`).
fn column(s: &mut Wgsl, c: usize, count: &str) {
    s.line(1, format!("let q{c} = wid.x * 64u + lane + {}u;", 8 * c));
    s.line(1, format!("let live{c} = q{c} < {count};"));
    s.line(1, format!("let qc{c} = min(q{c}, {count} - 1u);"));
}

/// The 8 unrolled steps of one channel chunk at one tap: `v{i}` hold the rows' values for
/// the lane's channel, `o{c}`/`ok{c}` each pixel's offset and validity within a channel
/// plane, `plane(j)` the WGSL of the j-th channel's plane base and `live(j)` its validity.
fn steps(
    s: &mut Wgsl,
    ind: usize,
    src: &str,
    plane: &dyn Fn(usize) -> String,
    live: &dyn Fn(usize) -> String,
) {
    for j in 0..CHANNEL_STEP {
        s.line(ind, "{");
        s.line(ind + 1, format!("let cb = {};", plane(j)));
        s.line(ind + 1, format!("let lv = {};", live(j)));
        for h in 0..2 {
            let parts: Vec<String> =
                (4 * h..4 * h + 4).map(|c| format!("select(0.0, {src}[cb + o{c}], ok{c} && lv)")).collect();
            s.line(ind + 1, format!("let bv{h} = vec4({});", parts.join(", ")));
        }
        fmas(s, ind + 1, j, true);
        s.line(ind, "}");
    }
}

/// The end of a forward or input-gradient entry: the 8 steps over channels `chunk` +
/// j < `count`, whose planes of `plane` values start at `base` (names in the WGSL), the
/// closing of the chunk and tap loops, and the store.
fn finish(
    s: &mut Wgsl,
    [chunk, count, base, plane]: [&str; 4],
    rows: &str,
    row_base: &dyn Fn(usize) -> String,
) {
    steps(s, 4, "in0", &|j| format!("{base} + min({chunk} + {j}u, {count} - 1u) * {plane}"), &|j| {
        format!("{chunk} + {j}u < {count}")
    });
    s.line(3, "}");
    s.line(2, "}");
    s.line(1, "}");
    store(s, rows, row_base);
    s.line(0, "}");
}

/// Stores the tile: row i goes to `row_base(i)` + the pixel's offset `dst{c}`.
fn store(s: &mut Wgsl, rows: &str, row_base: &dyn Fn(usize) -> String) {
    for i in 0..s.rows {
        s.line(1, format!("if row0 + {i}u < {rows} {{"));
        s.line(2, format!("let ob = {};", row_base(i)));
        for c in 0..PX {
            s.line(2, format!("if live{c} {{ out[ob + dst{c}] = acc{i}_{}.{}; }}", c / 4, comp(c % 4)));
        }
        s.line(1, "}");
    }
}

fn forward(s: &mut Wgsl, name: &str) {
    let r = s.rows;
    let doc = [
        format!("in0 = x, in1 = w, out = y. Dispatch (ceil(ho*wo / 64), ceil(c_out / {r}), n); the"),
        format!("{r} output channels of a tile lie in one group."),
    ];
    s.head(name, &doc);
    s.line(1, "let nb = wid.z;");
    s.line(1, "let npix = p.ho * p.wo;");
    s.line(1, "let cin_g = p.c_in / p.groups;");
    s.line(1, "let grp = row0 / (p.c_out / p.groups);");
    s.line(1, "let hw = p.h * p.w;");
    s.line(1, "let xbase = (nb * p.c_in + grp * cin_g) * hw;");
    s.line(1, "let taps = p.kh * p.kw;");
    for c in 0..PX {
        column(s, c, "npix");
        s.line(1, format!("let dst{c} = q{c};"));
        s.line(1, format!("let oy{c} = i32(qc{c} / p.wo * p.stride_h) - i32(p.pad_h);"));
        s.line(1, format!("let ox{c} = i32(qc{c} % p.wo * p.stride_w) - i32(p.pad_w);"));
    }
    packed_rows(s, "(p.c_out / p.groups)");
    s.accumulators();
    bias_init(s, "cin_g", "p.c_out");
    s.line(1, "for (var ci0 = 0u; ci0 < cin_g; ci0 += 8u) {");
    s.line(2, "let cl = ci0 + lane;");
    s.line(2, "let clive = cl < cin_g;");
    s.line(2, "let cc = min(cl, cin_g - 1u);");
    s.line(2, "for (var ky = 0u; ky < p.kh; ky++) {");
    s.line(3, "for (var kx = 0u; kx < p.kw; kx++) {");
    s.line(4, "let t = ky * p.kw + kx;");
    packed_loads(s, 4, "cin_g");
    s.line(4, "let dy = i32(ky * p.dil_h);");
    s.line(4, "let dx = i32(kx * p.dil_w);");
    for c in 0..PX {
        s.line(4, format!("let iy{c} = oy{c} + dy;"));
        s.line(4, format!("let ix{c} = ox{c} + dx;"));
        s.line(4, format!("let ok{c} = iy{c} >= 0 && iy{c} < i32(p.h) && ix{c} >= 0 && ix{c} < i32(p.w);"));
        s.line(4, format!("let o{c} = select(0u, u32(iy{c}) * p.w + u32(ix{c}), ok{c});"));
    }
    finish(s, ["ci0", "cin_g", "xbase", "hw"], "p.c_out", &|i| {
        format!("(nb * p.c_out + row0 + {i}u) * npix")
    });
}

fn input_grad(s: &mut Wgsl, name: &str) {
    let r = s.rows;
    let doc = [
        "in0 = gy, in1 = w, out = gx. Dilation 1. Dispatch (ceil(pixels of the largest class".to_string(),
        format!("/ 64), ceil(c_in / {r}), n * sh * sw); the {r} input channels of a tile lie in one group."),
    ];
    s.head(name, &doc);
    s.line(1, "let classes = p.stride_h * p.stride_w;");
    s.line(1, "let nb = wid.z / classes;");
    s.line(1, "let rh = wid.z % classes / p.stride_w;");
    s.line(1, "let rw = wid.z % classes % p.stride_w;");
    s.line(1, "// The class's pixels: iy = rh + sh * a, ix = rw + sw * b.");
    s.line(1, "let ch = select(0u, (p.h - rh + p.stride_h - 1u) / p.stride_h, rh < p.h);");
    s.line(1, "let cw = select(0u, (p.w - rw + p.stride_w - 1u) / p.stride_w, rw < p.w);");
    s.line(1, "let npix = ch * cw;");
    s.line(1, "if npix == 0u { return; }");
    s.line(1, "let cin_g = p.c_in / p.groups;");
    s.line(1, "let cout_g = p.c_out / p.groups;");
    s.line(1, "let grp = row0 / cin_g;");
    s.line(1, "let taps = p.kh * p.kw;");
    s.line(1, "let hwo = p.ho * p.wo;");
    s.line(1, "let gbase = (nb * p.c_out + grp * cout_g) * hwo;");
    s.line(1, "// A tap (ky, kx) reaches this class when ky = (rh + ph) mod sh, mod sh (likewise kx).");
    s.line(1, "let ky0 = (rh + p.pad_h) % p.stride_h;");
    s.line(1, "let kx0 = (rw + p.pad_w) % p.stride_w;");
    s.line(1, "let nty = select(0u, (p.kh - ky0 + p.stride_h - 1u) / p.stride_h, ky0 < p.kh);");
    s.line(1, "let ntx = select(0u, (p.kw - kx0 + p.stride_w - 1u) / p.stride_w, kx0 < p.kw);");
    s.line(1, "// gy's row for class row a and tap ky0 + sh * m is a + dy0 - m (an exact division).");
    s.line(1, "let dy0 = (i32(rh + p.pad_h) - i32(ky0)) / i32(p.stride_h);");
    s.line(1, "let dx0 = (i32(rw + p.pad_w) - i32(kx0)) / i32(p.stride_w);");
    for c in 0..PX {
        column(s, c, "npix");
        s.line(1, format!("let a{c} = i32(qc{c} / cw);"));
        s.line(1, format!("let b{c} = i32(qc{c} % cw);"));
        s.line(1, format!("let dst{c} = (rh + u32(a{c}) * p.stride_h) * p.w + rw + u32(b{c}) * p.stride_w;"));
    }
    packed_rows(s, "cin_g");
    s.accumulators();
    bias_init(s, "cout_g", "p.c_in");
    s.line(1, "for (var co0 = 0u; co0 < cout_g; co0 += 8u) {");
    s.line(2, "let cl = co0 + lane;");
    s.line(2, "let clive = cl < cout_g;");
    s.line(2, "let cc = min(cl, cout_g - 1u);");
    s.line(2, "for (var my = 0u; my < nty; my++) {");
    s.line(3, "for (var mx = 0u; mx < ntx; mx++) {");
    s.line(4, "let t = (ky0 + my * p.stride_h) * p.kw + kx0 + mx * p.stride_w;");
    packed_loads(s, 4, "cout_g");
    s.line(4, "let dyq = dy0 - i32(my);");
    s.line(4, "let dxq = dx0 - i32(mx);");
    for c in 0..PX {
        s.line(4, format!("let gy{c} = a{c} + dyq;"));
        s.line(4, format!("let gx{c} = b{c} + dxq;"));
        s.line(4, format!("let ok{c} = gy{c} >= 0 && gx{c} >= 0 && gy{c} < i32(p.ho) && gx{c} < i32(p.wo);"));
        s.line(4, format!("let o{c} = select(0u, u32(gy{c}) * p.wo + u32(gx{c}), ok{c});"));
    }
    finish(s, ["co0", "cout_g", "gbase", "hwo"], "p.c_in", &|i| {
        format!("(nb * p.c_in + row0 + {i}u) * p.h * p.w")
    });
}

fn weight_grad(s: &mut Wgsl, name: &str) {
    let r = s.rows;
    let doc = [
        "in0 = x, in1 = gy, out = partial gw [splits, c_out, cin_g * kh * kw]. Dispatch".to_string(),
        format!("(ceil(cols / 64), ceil(c_out / {r}), splits); split z sums the (image, output row)"),
        format!("pairs [z * k_chunk, (z + 1) * k_chunk). The {r} output channels lie in one group."),
    ];
    s.head(name, &doc);
    s.line(1, "let cin_g = p.c_in / p.groups;");
    s.line(1, "let cout_g = p.c_out / p.groups;");
    s.line(1, "let grp = row0 / cout_g;");
    s.line(1, "let taps = p.kh * p.kw;");
    s.line(1, "let cols = cin_g * taps;");
    s.line(1, "let hwo = p.ho * p.wo;");
    s.line(1, "let r_begin = wid.z * p.k_chunk;");
    s.line(1, "let r_end = min(r_begin + p.k_chunk, p.n * p.ho);");
    s.line(1, "// Each column is (input channel, ky, kx): its channel and the tap's offsets.");
    for c in 0..PX {
        column(s, c, "cols");
        s.line(1, format!("let dst{c} = q{c};"));
        s.line(1, format!("let ci{c} = grp * cin_g + qc{c} / taps;"));
        s.line(1, format!("let ky{c} = i32(qc{c} % taps / p.kw * p.dil_h) - i32(p.pad_h);"));
        s.line(1, format!("let kx{c} = i32(qc{c} % p.kw * p.dil_w) - i32(p.pad_w);"));
    }
    s.accumulators();
    s.line(1, "for (var r = r_begin; r < r_end; r++) {");
    s.line(2, "let nb = r / p.ho;");
    s.line(2, "let oy = r % p.ho;");
    s.line(2, "let gbase = (nb * p.c_out + row0) * hwo + oy * p.wo;");
    for c in 0..PX {
        s.line(2, format!("let iy{c} = i32(oy * p.stride_h) + ky{c};"));
        s.line(2, format!("let rok{c} = iy{c} >= 0 && iy{c} < i32(p.h);"));
        s.line(
            2,
            format!("let rb{c} = ((nb * p.c_in + ci{c}) * p.h + u32(select(0, iy{c}, rok{c}))) * p.w;"),
        );
    }
    s.line(2, "for (var ox0 = 0u; ox0 < p.wo; ox0 += 8u) {");
    s.line(3, "let ol = ox0 + lane;");
    s.line(3, "let olive = ol < p.wo;");
    s.line(3, "let go = gbase + min(ol, p.wo - 1u);");
    for i in 0..s.rows {
        s.line(
            3,
            format!(
                "let v{i} = select(0.0, in1[go + (min(row0 + {i}u, p.c_out - 1u) - row0) * hwo], olive);"
            ),
        );
    }
    for j in 0..CHANNEL_STEP {
        s.line(3, "{");
        s.line(4, format!("let ox = ox0 + {j}u;"));
        s.line(4, "let lv = ox < p.wo;");
        s.line(4, "let sx = i32(ox * p.stride_w);");
        for h in 0..2 {
            let parts: Vec<String> =
                (4 * h..4 * h + 4).map(|c| format!("ld(rb{c}, sx + kx{c}, rok{c} && lv)")).collect();
            s.line(4, format!("let bv{h} = vec4({});", parts.join(", ")));
        }
        fmas(s, 4, j, false);
        s.line(3, "}");
    }
    s.line(2, "}");
    s.line(1, "}");
    store(s, "p.c_out", &|i| format!("(wid.z * p.c_out + row0 + {i}u) * cols"));
    s.line(0, "}");
}
