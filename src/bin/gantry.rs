//! The `gantry` command line; everything it does lives in `gantry::cli`.

fn main() -> std::process::ExitCode {
    gantry::cli::main()
}
