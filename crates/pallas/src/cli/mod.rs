//! Command-line parsing and dispatch.

mod check;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run, check and format Pallas-style block kernels (`.pk` files).
#[derive(Parser)]
#[command(name = "pallas", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate a kernel; print every value's type and shape, or
    /// every error with its line:column.
    Check {
        /// The kernel file (`.pk`).
        kernel: PathBuf,
    },
    /// Run a kernel on inputs from .npy files (or random ones) and write
    /// its outputs.
    Run(run::RunArgs),
    /// Print a kernel in canonical form.
    Fmt {
        /// The kernel file (`.pk`).
        kernel: PathBuf,
    },
}

/// How a command failed: the kernel misbehaved (exit 1) or the input or
/// usage was bad (exit 2).
pub enum Failure {
    /// The kernel misbehaved (race, out of bounds, deadlock, disagreement).
    Kernel(String),
    /// Bad usage or input (parse error, missing file, wrong .npy).
    Input(String),
}

/// Entry point: parses arguments, runs the command, maps failures to exit
/// codes 1 and 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Check { kernel } => check::check(&kernel),
        Command::Fmt { kernel } => check::fmt(&kernel),
        Command::Run(args) => run::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Kernel(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Input(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Reads a kernel file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::Input(format!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
