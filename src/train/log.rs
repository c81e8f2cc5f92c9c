//! The loss log, `loss_log.jsonl`: one JSON object per step (`step`, `epoch`, `lr` and
//! each loss). A resumed run keeps the lines up to the step it resumes from, so the log
//! never repeats a step and the plot keeps the whole run; a fresh run moves an old log
//! aside rather than appending to it.

use super::report::History;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct LossLog {
    path: PathBuf,
    file: std::fs::File,
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::File { path: path.display().to_string(), msg: e.to_string() }
}

/// Parses one line written by `LossLog::append` into (step, losses).
fn parse(line: &str) -> Option<(usize, Vec<(String, f32)>)> {
    let body = line.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut step = None;
    let mut losses = Vec::new();
    for field in body.split(',') {
        let (key, value) = field.split_once(':')?;
        let key = key.trim().trim_matches('"');
        match key {
            "step" => step = value.trim().parse().ok(),
            "epoch" | "lr" => {}
            _ => losses.push((key.to_string(), value.trim().parse().ok()?)),
        }
    }
    Some((step?, losses))
}

impl LossLog {
    /// Opens `<dir>/loss_log.jsonl`. With `keep_until = Some(k)` (a resume after step k)
    /// the lines of steps 1..=k are kept and returned as the history; otherwise an
    /// existing log is renamed `loss_log.<unix time>.jsonl` and a new one begun.
    pub fn open(dir: &Path, keep_until: Option<usize>) -> Result<(LossLog, History)> {
        let path = dir.join("loss_log.jsonl");
        let mut history = History::new();
        let mut kept = String::new();
        if let Some(k) = keep_until {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines() {
                if let Some((step, losses)) = parse(line).filter(|(s, _)| *s <= k) {
                    history.push((step, losses));
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
        } else if path.exists() {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let aside = dir.join(format!("loss_log.{secs}.jsonl"));
            std::fs::rename(&path, &aside).map_err(|e| io_error(&aside, e))?;
        }
        crate::io::write_atomic(&path, kept.as_bytes())?;
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| io_error(&path, e))?;
        Ok((LossLog { path, file }, history))
    }

    /// Appends one step's line.
    pub fn append(&mut self, step: usize, epoch: usize, lr: f32, losses: &[(String, f32)]) -> Result<()> {
        let fields: String = losses.iter().map(|(n, v)| format!(",\"{n}\":{v}")).collect();
        writeln!(self.file, "{{\"step\":{step},\"epoch\":{epoch},\"lr\":{lr:e}{fields}}}")
            .map_err(|e| io_error(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_parse_back() {
        let (step, losses) =
            super::parse("{\"step\":12,\"epoch\":2,\"lr\":2e-4,\"D_A\":0.25,\"G_A\":1}").unwrap();
        assert_eq!(step, 12);
        assert_eq!(losses, vec![("D_A".to_string(), 0.25), ("G_A".to_string(), 1.0)]);
        assert!(super::parse("not json").is_none());
    }
}
