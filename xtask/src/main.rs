//! `cargo xtask`: project tasks. `cargo xtask bench` measures every
//! backend against hand-written references and writes a report.

mod bench;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// pallas-rs project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time the seed kernel and the corpus workloads on every backend
    /// beside hand-written references; write target/bench/report.{md,json,svg}.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Bench(args) => match bench::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}
