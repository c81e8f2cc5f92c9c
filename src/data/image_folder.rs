//! torchvision's `ImageFolder`, which StarGAN v1 uses for RaFD and custom data: one
//! subfolder per class, classes in sorted order, the images of each class found by walking
//! its folder recursively, every image labelled with its class index.
//!
//! The order is torchvision's `make_dataset`: classes sorted by name; within a class the
//! folders of `os.walk(…, followlinks=True)` sorted by their full path *as a string* (so
//! `a-b/` comes before `a/b/`, since '-' sorts before '/'), and the files of each folder
//! sorted by name. Names compare by their bytes, which for UTF-8 names is the code point
//! order of Python's `sorted`. A file is an image when its name ends, in any case, with one
//! of [`IMG_EXTENSIONS`]. Differences, each where torchvision would hang or silently skip:
//! a symlink loop and an unreadable folder are errors.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// torchvision's `IMG_EXTENSIONS`.
pub const IMG_EXTENSIONS: [&str; 9] =
    [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

/// A class-per-folder dataset: class names by index, and every image with its class.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    pub classes: Vec<String>,
    pub samples: Vec<(PathBuf, usize)>,
}

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

/// The bytes a name sorts by.
fn sort_key(name: &std::ffi::OsStr) -> &[u8] {
    name.as_encoded_bytes()
}

/// Whether `name` ends with an image extension, ignoring case.
pub fn is_image_name(name: &std::ffi::OsStr) -> bool {
    let lower = name.to_string_lossy().to_lowercase();
    IMG_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// The entries of a folder, split into subfolders (symlinks followed) and other names.
pub(crate) fn list(dir: &Path) -> Result<(Vec<OsString>, Vec<OsString>)> {
    let read = std::fs::read_dir(dir).map_err(|e| file_error(dir, format!("cannot be listed: {e}")))?;
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    for entry in read {
        let entry = entry.map_err(|e| file_error(dir, format!("cannot be listed: {e}")))?;
        // `metadata` follows symlinks, as `DirEntry.is_dir()` does in Python; a broken
        // link is a file, as there.
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            dirs.push(entry.file_name());
        } else {
            files.push(entry.file_name());
        }
    }
    Ok((dirs, files))
}

/// Every folder under `dir` (itself included) with its image files, in no order; the
/// canonical paths of the folders above guard against symlink loops.
fn walk(dir: &Path, above: &mut Vec<PathBuf>, out: &mut Vec<(PathBuf, Vec<OsString>)>) -> Result<()> {
    let real = dir.canonicalize().map_err(|e| file_error(dir, e.to_string()))?;
    if above.contains(&real) {
        return Err(file_error(dir, "is a symlink loop: it leads back to a folder above it"));
    }
    let (dirs, files) = list(dir)?;
    out.push((dir.to_path_buf(), files.into_iter().filter(|f| is_image_name(f)).collect()));
    above.push(real);
    for sub in dirs {
        walk(&dir.join(sub), above, out)?;
    }
    above.pop();
    Ok(())
}

/// The images of one class folder in torchvision's order.
pub(crate) fn class_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    walk(dir, &mut Vec::new(), &mut folders)?;
    folders.sort_by(|a, b| sort_key(a.0.as_os_str()).cmp(sort_key(b.0.as_os_str())));
    let mut images = Vec::new();
    for (folder, mut files) in folders {
        files.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
        images.extend(files.iter().map(|f| folder.join(f)));
    }
    Ok(images)
}

impl ImageFolder {
    /// Reads the classes and images under `root`. Errors when `root` is not a folder, has
    /// no subfolders, or has class folders without images (torchvision refuses those too;
    /// the message names them all).
    pub fn load(root: &Path) -> Result<ImageFolder> {
        let layout = "class-per-folder data (RaFD, custom) needs one subfolder of images per class";
        if !root.is_dir() {
            return Err(file_error(root, format!("is not a folder: {layout}")));
        }
        let (mut dirs, _) = list(root)?;
        if dirs.is_empty() {
            return Err(file_error(root, format!("has no class folders: {layout}")));
        }
        dirs.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
        let (mut samples, mut empty) = (Vec::new(), Vec::new());
        for (index, class) in dirs.iter().enumerate() {
            let images = class_images(&root.join(class))?;
            if images.is_empty() {
                empty.push(class.to_string_lossy().into_owned());
            }
            samples.extend(images.into_iter().map(|p| (p, index)));
        }
        if !empty.is_empty() {
            return Err(file_error(
                root,
                format!(
                    "class folder(s) {} hold no images (names ending in {}, searched recursively): remove them or add images",
                    empty.join(", "),
                    IMG_EXTENSIONS.join(" ")
                ),
            ));
        }
        let classes = dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect();
        Ok(ImageFolder { classes, samples })
    }
}
