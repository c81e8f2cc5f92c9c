//! A fast look at every image of a dataset before training: each file's header (format,
//! size) is read without decoding pixels, so an unreadable, empty or mislabelled file is
//! reported at once, all of them together, rather than when the loader reaches it in the
//! middle of an epoch. (A file cut short after a valid header still shows only when read.)

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What is wrong with the image at `path`, judged from its header.
fn problem(path: &Path) -> Option<String> {
    let reader = match image::ImageReader::open(path).and_then(|r| r.with_guessed_format()) {
        Ok(r) => r,
        Err(e) => return Some(format!("cannot be opened ({e})")),
    };
    if reader.format().is_none() {
        return Some("is not an image in a format gantry reads (PNG, JPEG, BMP, …)".into());
    }
    match reader.into_dimensions() {
        Ok((0, _)) | Ok((_, 0)) => Some("has no pixels".into()),
        Ok(_) => None,
        Err(e) => Some(format!("has a bad header ({e})")),
    }
}

/// Checks the images `paths` (items with their labels) and returns the good ones. Bad ones
/// are an error listing them, or with `skip_bad` a warning, and left out.
pub fn keep_readable<T>(items: Vec<(PathBuf, T)>, skip_bad: bool) -> Result<Vec<(PathBuf, T)>> {
    let total = items.len();
    let (mut good, mut bad) = (Vec::with_capacity(total), Vec::new());
    for (path, label) in items {
        match problem(&path) {
            None => good.push((path, label)),
            Some(why) => bad.push(format!("{} {why}", path.display())),
        }
    }
    if bad.is_empty() {
        return Ok(good);
    }
    let shown: Vec<&str> = bad.iter().take(10).map(String::as_str).collect();
    let more = if bad.len() > 10 { format!("; and {} more", bad.len() - 10) } else { String::new() };
    let list = format!("{}{more}", shown.join("; "));
    if !skip_bad {
        return Err(Error::Invalid {
            op: "data",
            msg: format!(
                "{} of {total} images cannot be used: {list}. Fix or remove them, or add --skip-bad-images to train without them",
                bad.len()
            ),
        });
    }
    if good.is_empty() {
        return Err(Error::Invalid {
            op: "data",
            msg: format!("none of the {total} images can be used: {list}"),
        });
    }
    eprintln!("warning: skipping {} of {total} images (--skip-bad-images): {list}", bad.len());
    Ok(good)
}

/// `keep_readable` for plain file lists.
pub fn keep_readable_files(files: Vec<PathBuf>, skip_bad: bool) -> Result<Vec<PathBuf>> {
    let items = files.into_iter().map(|f| (f, ())).collect();
    Ok(keep_readable(items, skip_bad)?.into_iter().map(|(f, ())| f).collect())
}
