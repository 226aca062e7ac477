//! Command-line parsing and dispatch.

mod check;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run, check and format Pallas-style block kernels (`.pk` files).
///
/// Start with `pallas run examples/kernels/seed.pk --random 0`: it runs the
/// kernel on the simulator with random inputs and prints the time, what the
/// simulator counted and the output shapes. `pallas check FILE` validates a
/// kernel and lists every value's type; `pallas fmt FILE` prints it in
/// canonical form.
///
/// Exit codes: 0 success, 1 the kernel misbehaved (out-of-bounds access,
/// race, deadlock, backends disagree), 2 bad usage or input.
#[derive(Parser)]
#[command(name = "pallas", version)]
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
    /// Print the WGSL the wgpu backend generates for a kernel.
    Wgsl {
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
        Command::Wgsl { kernel } => check::wgsl(&kernel),
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

/// Prints a line to stdout; a closed pipe (`pallas ... | head`) ends the
/// output quietly instead of panicking.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
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
