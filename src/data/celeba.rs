//! CelebA as StarGAN v1 reads it (yunjey/stargan, `data_loader.CelebA.preprocess`):
//! `list_attr_celeba.txt` holds the image count on line 1, the attribute names on line 2,
//! then `<file> <v1> … <vN>` per image with values ±1. The image lines are shuffled by
//! Python's generator after `random.seed(1234)`; the first 1,999 are the test split and the
//! rest the train split. Each image is labelled with the selected attributes, in the order
//! they were selected, as 1.0 (value `1`) or 0.0.
//!
//! Stricter than the reference, which fails later or not at all: every line must hold a
//! file name and one value (1, -1, or 0 as some custom files write it) per attribute, and
//! every image of the split must exist when the dataset is built. Blank lines at the end of
//! the file are ignored (the reference would stop on them with an `IndexError`).

use super::python_random::PythonRandom;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// StarGAN v1's default `--selected_attrs`.
pub const DEFAULT_ATTRS: [&str; 5] = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"];

/// The reference's `random.seed(1234)` before it shuffles the lines.
const SPLIT_SEED: u64 = 1234;

/// The shuffled lines i with `i + 1 < 2000` form the test split: the first 1,999.
const TEST_SIZE: usize = 1999;

/// Which part of the shuffled list: `--mode train` reads Train, `--mode test` Test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// One image line of the attribute file.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The file name, relative to the image folder.
    pub filename: String,
    /// The selected attributes, in the order selected: 1.0 or 0.0.
    pub labels: Vec<f32>,
    /// The 1-based line of the attribute file, for messages.
    pub line: usize,
}

/// One split of CelebA: each image's path and labels, in the reference's order.
#[derive(Clone, Debug)]
pub struct CelebA {
    pub items: Vec<(PathBuf, Vec<f32>)>,
}

/// Checks that `--c-dim` equals the number of `--selected-attrs`: the label vector that G
/// takes and D predicts has one entry per selected attribute.
pub fn check_c_dim(selected: &[String], c_dim: usize) -> Result<()> {
    if selected.len() == c_dim {
        return Ok(());
    }
    Err(Error::Invalid {
        op: "stargan",
        msg: format!(
            "--selected-attrs names {} attribute(s) ({}) but --c-dim is {c_dim}: the label vector has one entry per selected attribute, so the two must be equal",
            selected.len(),
            selected.join(" ")
        ),
    })
}

impl CelebA {
    /// The `split` of the images in `image_dir` listed by `attr_path`, labelled with the
    /// `selected` attributes. Errors name an unknown attribute, a malformed line (by its
    /// number), or the first image of the split that is missing.
    pub fn load(image_dir: &Path, attr_path: &Path, selected: &[String], split: Split) -> Result<CelebA> {
        let entries = read_split(attr_path, selected, split)?;
        if !image_dir.is_dir() {
            return Err(Error::File {
                path: image_dir.display().to_string(),
                msg: "is not a folder: --celeba-image-dir should hold CelebA's aligned images (img_align_celeba)".into(),
            });
        }
        let items: Vec<_> = entries.iter().map(|e| (image_dir.join(&e.filename), e.labels.clone())).collect();
        let mut missing = entries.iter().zip(&items).filter(|(_, (path, _))| !path.is_file());
        if let Some((first, (path, _))) = missing.next() {
            let others = missing.count();
            let more = match others {
                0 => String::new(),
                n => format!(", and {n} more of the split's {} images are missing too", items.len()),
            };
            return Err(Error::File {
                path: path.display().to_string(),
                msg: format!(
                    "is missing: line {} of {} lists it{more}; --celeba-image-dir should hold CelebA's aligned images",
                    first.line,
                    attr_path.display()
                ),
            });
        }
        Ok(CelebA { items })
    }
}

/// The entries of `split`, in the reference's order, without looking at the images.
pub fn read_split(attr_path: &Path, selected: &[String], split: Split) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(attr_path).map_err(|e| Error::File {
        path: attr_path.display().to_string(),
        msg: format!("cannot be read ({e}): --attr-path should be CelebA's list_attr_celeba.txt"),
    })?;
    let mut entries = parse(&text, attr_path, selected)?;
    PythonRandom::seed(SPLIT_SEED).shuffle(&mut entries);
    let test = TEST_SIZE.min(entries.len());
    match split {
        Split::Test => entries.truncate(test),
        Split::Train => {
            entries.drain(..test);
        }
    }
    Ok(entries)
}

/// Every image line of an attribute file, in file order, labelled with `selected`.
fn parse(text: &str, path: &Path, selected: &[String]) -> Result<Vec<Entry>> {
    let at_line = |line: usize, msg: String| Error::File {
        path: path.display().to_string(),
        msg: format!("line {line}: {msg}"),
    };
    // Line 1, the image count, is not read: the reference ignores it too.
    let mut lines = text.lines().skip(1);
    let names: Vec<&str> = lines.next().map(|l| l.split_whitespace().collect()).unwrap_or_default();
    if names.is_empty() {
        let msg = "no attribute names: line 1 should be the image count and line 2 the attribute names";
        return Err(at_line(2, msg.into()));
    }
    let columns = selected
        .iter()
        .map(|s| {
            // A name listed twice means its last column, as the reference's dict does.
            names.iter().rposition(|n| n == s).ok_or_else(|| unknown_attribute(path, s, &names))
        })
        .collect::<Result<Vec<usize>>>()?;
    let body: Vec<&str> = lines.collect();
    let end = body.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |i| i + 1);
    body[..end]
        .iter()
        .enumerate()
        .map(|(k, line)| parse_line(line, k + 3, &names, &columns).map_err(|msg| at_line(k + 3, msg)))
        .collect()
}

/// One image line: the file name and a value per attribute of `names`.
fn parse_line(
    line: &str,
    number: usize,
    names: &[&str],
    columns: &[usize],
) -> std::result::Result<Entry, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != names.len() + 1 {
        return Err(format!(
            "expected a file name and {} values (one per attribute on line 2), found {} field(s)",
            names.len(),
            fields.len()
        ));
    }
    if let Some((value, name)) = fields[1..].iter().zip(names).find(|(v, _)| !matches!(**v, "1" | "-1" | "0"))
    {
        return Err(format!("{} has value {value:?} for {name}, which is not 1 or -1", fields[0]));
    }
    let labels = columns.iter().map(|&c| if fields[1 + c] == "1" { 1.0 } else { 0.0 }).collect();
    Ok(Entry { filename: fields[0].to_string(), labels, line: number })
}

/// The error for a selected attribute the file does not have: it lists the file's
/// attributes (up to 40, all of CelebA's) and suggests a name that differs only in case
/// or contains the one given.
fn unknown_attribute(path: &Path, name: &str, names: &[&str]) -> Error {
    let lower = name.to_lowercase();
    let near = names
        .iter()
        .find(|n| n.to_lowercase() == lower)
        .or_else(|| names.iter().find(|n| !lower.is_empty() && n.to_lowercase().contains(&lower)));
    let hint = near.map(|n| format!(" Did you mean {n}?")).unwrap_or_default();
    let shown = names.iter().take(40).copied().collect::<Vec<_>>().join(" ");
    let rest = if names.len() > 40 { format!(" … and {} more", names.len() - 40) } else { String::new() };
    Error::File {
        path: path.display().to_string(),
        msg: format!(
            "has no attribute {name:?} (from --selected-attrs); its {} attributes are: {shown}{rest}.{hint}",
            names.len()
        ),
    }
}
