//! The `creditwatch` binary: parses the command line and hands over to the
//! library. All behaviour lives in `creditwatch::commands`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = creditwatch::cli::Cli::parse();
    creditwatch::commands::main(cli)
}
