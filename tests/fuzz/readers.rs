//! The readers under test and the seed files each one starts from.

use super::*;

// Readers.

/// Every tensor's data must fill its shape, or code downstream would index out of range.
pub(crate) fn check_tensors<'a>(tensors: impl IntoIterator<Item = &'a (String, HostTensor)>) {
    for (name, t) in tensors {
        let len = match &t.data {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        };
        let numel: Option<usize> = t.shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
        assert_eq!(numel, Some(len), "tensor {name} of shape {:?} holds {len} values", t.shape);
    }
}

/// Reads a checkpoint; says how many tensors it holds.
pub(crate) fn read_pth(b: &[u8]) -> Result<String, String> {
    let entry = Entry::from_bytes(b)?;
    let tensors = entry.tensors();
    check_tensors(&tensors);
    let _ = entry.get("state_dict");
    Ok(format!("{} tensors", tensors.len()))
}

pub(crate) fn read_safetensors(b: &[u8]) -> Result<String, String> {
    let tensors = parse_safetensors(b)?;
    check_tensors(&tensors);
    Ok(format!("{} tensors", tensors.len()))
}

pub(crate) fn read_image(b: &[u8]) -> Result<String, String> {
    let img = decode_rgb(b)?;
    assert_eq!(img.as_raw().len(), img.width() as usize * img.height() as usize * 3);
    Ok(format!("a {}x{} image", img.width(), img.height()))
}

/// The readers' names, as `GANTRY_FUZZ_CASE` takes them.
pub(crate) const READERS: [&str; 6] = ["pth-zip", "pth-legacy", "pickle", "safetensors", "png", "jpeg"];

pub(crate) type Mutation = fn(&Seed, &mut Vec<u8>, &mut Rng) -> String;

/// A reader with its seeds and its format-aware mutation.
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) seeds: Vec<Seed>,
    pub(crate) special: Mutation,
    /// What goes to the reader: the mutated bytes, or the bytes put back where they came from.
    pub(crate) wrap: fn(&Seed, Vec<u8>) -> Vec<u8>,
    pub(crate) read: fn(&[u8]) -> Result<String, String>,
}

pub(crate) fn as_is(_: &Seed, b: Vec<u8>) -> Vec<u8> {
    b
}

pub(crate) fn seed(name_bytes: (String, Vec<u8>), fields: fn(&[u8]) -> Vec<Field>) -> Seed {
    let (name, bytes) = name_bytes;
    Seed { fields: fields(&bytes), name, bytes, ops: Vec::new(), entries: Vec::new() }
}

pub(crate) const ZIP_SEEDS: [&str; 7] = [
    "pth/linear.pth",
    "pth/views.pth",
    "pth/dtypes.pth",
    "pth/dataparallel.pth",
    "pth/conv_bn.pth",
    "pth/evil.pth",
    "pth/stargan2_nets.ckpt",
];

pub(crate) fn pth_zip() -> Target {
    let seeds = ZIP_SEEDS.iter().map(|n| seed(fixture(n), zip_fields)).collect();
    Target { name: "pth-zip", seeds, special: field_mutation, wrap: as_is, read: read_pth }
}

pub(crate) fn pth_legacy() -> Target {
    let names = [
        "pth/legacy_cyclegan.pth",
        "pth/legacy_dtypes.pth",
        "pth/legacy_protocol4.pth",
        "pth/legacy_python2_style.pth",
        "pth/legacy_storage_views.pth",
        "pth/legacy_views.pth",
        "pth/legacy_bad_view.pth",
        "pth/legacy_evil.pth",
        "pth/legacy_stargan2.ckpt",
        "stargan/10-G.ckpt",
    ];
    let seeds = names
        .iter()
        .map(|n| {
            let (name, bytes) = fixture(n);
            let (ops, mut fields, end) = pickle_ops(&bytes, 0, 5);
            if end + 8 <= bytes.len() {
                fields.push(Field::le(end, 8, "first storage's element count"));
            }
            Seed { name, bytes, fields, ops, entries: Vec::new() }
        })
        .collect();
    Target { name: "pth-legacy", seeds, special: pickle_mutation, wrap: as_is, read: read_pth }
}

pub(crate) fn pickle() -> Target {
    let seeds = ZIP_SEEDS
        .iter()
        .map(|n| {
            let (name, archive) = fixture(n);
            let entries = unzip(&archive);
            let pkl = entries.iter().find(|(e, _)| e.ends_with("/data.pkl")).expect("data.pkl").1.clone();
            let (ops, fields, _) = pickle_ops(&pkl, 0, 1);
            Seed { name: format!("{name}: data.pkl"), bytes: pkl, fields, ops, entries }
        })
        .collect();
    let rezip = |seed: &Seed, pkl: Vec<u8>| {
        let mut entries = seed.entries.clone();
        entries.iter_mut().find(|(e, _)| e.ends_with("/data.pkl")).unwrap().1 = pkl;
        zip(&entries)
    };
    Target { name: "pickle", seeds, special: pickle_mutation, wrap: rezip, read: read_pth }
}

pub(crate) fn safetensors() -> Target {
    let names = ["stargan/lr.safetensors", "stargan/translate_cli.safetensors", "pth/expected.safetensors"];
    let seeds = names.iter().map(|n| seed(fixture(n), |_| Vec::new())).collect();
    Target { name: "safetensors", seeds, special: safetensors_mutation, wrap: as_is, read: read_safetensors }
}

pub(crate) fn png() -> Target {
    let names = [
        "stargan/celeba.png",
        "stargan/small_c32_s20.png",
        "stargan/translate_in.png",
        "cyclegan/translate_in/gray_source.png",
    ];
    let seeds = names.iter().map(|n| seed(fixture(n), |_| Vec::new())).collect();
    Target { name: "png", seeds, special: png_mutation, wrap: as_is, read: read_image }
}

pub(crate) fn jpeg() -> Target {
    use image::codecs::jpeg::JpegEncoder;
    let seeds = ["stargan/celeba.png", "stargan/small_c32_s20.png", "stargan/translate_in.png"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let img = image::load_from_memory(&fixture(n).1).unwrap();
            // One grey seed: a single-component frame.
            let img = if i == 2 {
                image::DynamicImage::ImageLuma8(img.to_luma8())
            } else {
                image::DynamicImage::ImageRgb8(img.to_rgb8())
            };
            let mut bytes = Vec::new();
            img.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, 75)).unwrap();
            seed((format!("{n} as JPEG"), bytes), jpeg_fields)
        })
        .collect();
    Target { name: "jpeg", seeds, special: field_mutation, wrap: as_is, read: read_image }
}
