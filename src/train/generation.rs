//! Checkpoint generations: everything one save writes (networks, optimizer and model
//! state, counters) lands in `<run>/generations/<step>/` as one set. The set is written
//! into a temporary folder with a `manifest.txt` (each file's size and checksum) last,
//! then made visible by one rename, so a kill at any moment leaves either the previous
//! set or the new one complete. The previous set is removed only once the new one is in
//! place; on load each file is checked against the manifest, and a damaged set is passed
//! over for the newest intact one, with a warning.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

const FOLDER: &str = "generations";
const MANIFEST: &str = "manifest.txt";
const HEADER: &str = "gantry checkpoint generation 1";

/// FNV-1a, 64 bits: enough to tell a damaged or mixed file from the one the manifest names.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::File { path: path.display().to_string(), msg: e.to_string() }
}

/// Writes the set of `files` (name, bytes) saved after `step` and returns its folder.
/// Older sets are removed once it is in place.
pub fn write(run_dir: &Path, step: usize, files: &[(String, Vec<u8>)]) -> Result<PathBuf> {
    let root = run_dir.join(FOLDER);
    let tmp = root.join(format!(".{step:09}.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
    let mut manifest = format!("{HEADER}\nstep {step}\n");
    for (name, bytes) in files {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).map_err(|e| io_error(&path, e))?;
        manifest.push_str(&format!("file {name} {} {:016x}\n", bytes.len(), checksum(bytes)));
    }
    let path = tmp.join(MANIFEST);
    std::fs::write(&path, manifest).map_err(|e| io_error(&path, e))?;
    let dest = root.join(format!("{step:09}"));
    // The same step saved again (a stop at an epoch's end): the older sets stay until the
    // rename, so a kill in between still leaves one intact.
    if dest.exists() {
        let old = root.join(format!(".{step:09}.old{}", std::process::id()));
        std::fs::rename(&dest, &old).map_err(|e| io_error(&dest, e))?;
        std::fs::rename(&tmp, &dest).map_err(|e| io_error(&dest, e))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, &dest).map_err(|e| io_error(&dest, e))?;
    }
    for (other, _) in sets(&root)? {
        if other != dest {
            let _ = std::fs::remove_dir_all(&other);
        }
    }
    Ok(dest)
}

/// The completed sets under `root`, newest first, with their steps.
fn sets(root: &Path) -> Result<Vec<(PathBuf, usize)>> {
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(Vec::new()) };
    let mut out: Vec<(PathBuf, usize)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let step = e.file_name().to_str()?.parse::<usize>().ok()?;
            Some((e.path(), step))
        })
        .collect();
    out.sort_by_key(|(_, step)| std::cmp::Reverse(*step));
    Ok(out)
}

/// Whether `run_dir` holds any completed set, intact or damaged. A save killed before its
/// rename leaves only temporaries, which hold nothing a fresh run could overwrite.
pub fn has_sets(run_dir: &Path) -> Result<bool> {
    Ok(!sets(&run_dir.join(FOLDER))?.is_empty())
}

/// What is wrong with the set in `folder`, if anything: a missing or unreadable manifest,
/// or a file whose size or checksum differs from it.
fn check(folder: &Path) -> std::result::Result<(), String> {
    let text = std::fs::read_to_string(folder.join(MANIFEST)).map_err(|e| format!("its {MANIFEST}: {e}"))?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!("its {MANIFEST} is not a gantry manifest"));
    }
    for line in lines.filter(|l| l.starts_with("file ")) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [_, name, size, sum] = fields[..] else { return Err(format!("bad manifest line {line:?}")) };
        let bytes = std::fs::read(folder.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if bytes.len().to_string() != size || format!("{:016x}", checksum(&bytes)) != sum {
            return Err(format!("{name} does not match its manifest (damaged or replaced)"));
        }
    }
    Ok(())
}

/// The newest intact set and its step; damaged sets are named in warnings and passed over.
pub fn newest(run_dir: &Path) -> Result<Option<(PathBuf, usize)>> {
    for (folder, step) in sets(&run_dir.join(FOLDER))? {
        match check(&folder) {
            Ok(()) => return Ok(Some((folder, step))),
            Err(why) => {
                eprintln!("warning: skipping the checkpoint of step {step} in {}: {why}", folder.display())
            }
        }
    }
    Ok(None)
}

/// Removes what an interrupted save left behind: temporary files (`*.tmp<pid>`) in the
/// run folder and temporary sets under `generations/`. Returns how many.
pub fn clean_leftovers(run_dir: &Path) -> usize {
    let is_temporary = |name: &str| {
        name.rsplit_once(".tmp")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            || (name.starts_with('.') && name.contains(".old"))
    };
    let mut removed = 0;
    for dir in [run_dir.to_path_buf(), run_dir.join(FOLDER)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_temporary(&name) {
                let path = e.path();
                let gone =
                    if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                removed += usize::from(gone.is_ok());
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gantry-generation-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_newest_intact_set_wins_and_a_damaged_one_is_passed_over() {
        let run = temp("sets");
        write(&run, 5, &[("a".into(), vec![1, 2, 3])]).unwrap();
        // A newer set replaces the older one.
        let ten = write(&run, 10, &[("a".into(), vec![4, 5])]).unwrap();
        assert_eq!(newest(&run).unwrap(), Some((ten.clone(), 10)));
        assert!(!run.join(FOLDER).join(format!("{:09}", 5)).exists());
        // A set damaged after the fact (or a stray copy of another's file) is refused.
        let twelve = run.join(FOLDER).join(format!("{:09}", 12));
        std::fs::create_dir_all(&twelve).unwrap();
        std::fs::copy(ten.join(MANIFEST), twelve.join(MANIFEST)).unwrap();
        std::fs::write(twelve.join("a"), [9, 9]).unwrap();
        assert_eq!(check(&twelve).unwrap_err(), "a does not match its manifest (damaged or replaced)");
        assert_eq!(newest(&run).unwrap(), Some((ten, 10)));
    }

    #[test]
    fn a_save_cut_short_leaves_the_previous_set_and_its_temporaries_are_removed() {
        let run = temp("cut");
        let five = write(&run, 5, &[("a".into(), vec![1])]).unwrap();
        // What a kill inside a save leaves: a temporary set without its manifest, and a
        // temporary file beside the run's files.
        let partial = run.join(FOLDER).join(format!(".{:09}.tmp4242", 6));
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(partial.join("a"), [2]).unwrap();
        std::fs::write(run.join("latest_net_G.safetensors.tmp4242"), [0]).unwrap();
        std::fs::write(run.join("keep.tmp"), [0]).unwrap();
        assert_eq!(newest(&run).unwrap(), Some((five, 5)));
        assert_eq!(clean_leftovers(&run), 2);
        assert!(!partial.exists() && run.join("keep.tmp").exists());
    }
}
