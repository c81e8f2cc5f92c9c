//! The shader registry: every kernel family's WGSL source, embedded at compile time, with
//! its binding signature. A family's bindings are, in order: `inputs` read-only storage
//! arrays, `outputs` read-write storage arrays, then one uniform `Params` block.

/// One `.wgsl` file and the binding signature all its entry points share.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub source: &'static str,
    pub inputs: u32,
    pub outputs: u32,
}

macro_rules! family {
    ($ident:ident, $name:literal, $inputs:literal, $outputs:literal) => {
        pub const $ident: Family = Family {
            name: $name,
            source: include_str!(concat!("../../shaders/", $name, ".wgsl")),
            inputs: $inputs,
            outputs: $outputs,
        };
    };
}

family!(FILL, "fill", 0, 1);
family!(RANDOM, "random", 0, 1);
family!(UNARY, "unary", 1, 1);
family!(BINARY, "binary", 2, 1);
family!(SELECT, "select", 3, 1);
family!(REDUCE, "reduce", 1, 1);
family!(MATMUL, "matmul", 2, 1);
family!(SHAPE, "shape", 1, 1);
family!(GATHER, "gather", 2, 1);
family!(CONV2D, "conv2d", 2, 1);
family!(PAD, "pad", 1, 1);
family!(NORM, "norm", 4, 2);
family!(OPTIM, "optim", 1, 3);

/// Every family, for tools that walk them all.
pub const ALL: &[&Family] = &[
    &FILL, &RANDOM, &UNARY, &BINARY, &SELECT, &REDUCE, &MATMUL, &SHAPE, &GATHER, &CONV2D, &PAD, &NORM, &OPTIM,
];

/// The `struct Params` declaration and its uniform binding, as written in `family`'s file,
/// for generated kernels that share that family's parameters.
pub fn params_block(family: &Family) -> &'static str {
    let src = family.source;
    let start = src.find("struct Params").expect("the family declares Params");
    let decl = "var<uniform> p: Params;";
    let end = src[start..].find(decl).expect("the family binds Params as p") + start + decl.len();
    &src[start..end]
}
