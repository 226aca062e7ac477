//! The `pallas` command line: check, format and run kernel files.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
