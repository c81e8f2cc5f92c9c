//! `kill -9` at random moments, inside saves included: every run must continue from a
//! consistent checkpoint set and end with the same losses, iteration for iteration, as a
//! run never interrupted. GANTRY_KILLS=N sets the number of kills (default 6); the delays
//! are fractions of an uninterrupted run's time drawn from a fixed seed (GANTRY_KILL_SEED),
//! so that a failure can be replayed.

use crate::common::temp;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A small StarGAN on its built-in set, saving after every iteration.
fn start(root: &Path, continue_train: bool) -> Child {
    let mut args = vec!["train", "stargan", "--checkpoints-dir", root.to_str().unwrap()];
    args.extend(["--builtin-images", "8", "--batch-size", "2", "--num-iters", "12", "--image-size", "16"]);
    args.extend(["--d-repeat-num", "3", "--g-repeat-num", "1", "--n-critic", "2", "--model-save-step", "1"]);
    if continue_train {
        args.push("--continue-train");
    }
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn runs_killed_at_random_resume_to_the_uninterrupted_losses() {
    let env = |k: &str, default: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (kills, mut seed) = (env("GANTRY_KILLS", 6), env("GANTRY_KILL_SEED", 7));
    let whole = temp("kill-whole");
    let t = Instant::now();
    finish(start(&whole, false));
    // Kills are spread over the time a whole run takes here, so that a slow machine (where
    // start-up alone can outlast a fixed delay) still sees some land inside iterations.
    let span = t.elapsed().as_millis() as u64;
    let want = std::fs::read_to_string(whole.join("experiment/loss_log.jsonl")).unwrap();
    assert_eq!(want.lines().count(), 12);

    let killed = temp("kill-cut");
    let run = killed.join("experiment");
    let mut landed = 0;
    for k in 0..kills {
        let resumable = gantry::train::generation::newest(&run).unwrap().is_some();
        let mut child = start(&killed, resumable);
        // A delay in 5 .. 65 % of a whole run (a resumed run has less left to do): from
        // dataset writing and shader compilation to the iterations and their saves.
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(span / 20 + (seed >> 33) % (span * 3 / 5).max(1));
        let t = Instant::now();
        while t.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_some() {
            eprintln!("kill {k}: the run had finished");
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        landed += 1;
        let step = gantry::train::generation::newest(&run).unwrap().map(|(_, s)| s);
        eprintln!("kill {k} after {delay:?} (a whole run: {span} ms): newest intact set {step:?}");
    }
    let resumable = gantry::train::generation::newest(&run).unwrap().is_some();
    finish(start(&killed, resumable));
    assert!(landed >= 1, "no kill landed");
    assert_eq!(std::fs::read_to_string(run.join("loss_log.jsonl")).unwrap(), want);
    assert_eq!(gantry::train::generation::clean_leftovers(&run), 0, "a finished run leaves no temporaries");
    eprintln!("{landed} kills survived");
}
