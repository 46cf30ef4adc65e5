//! The `creditwatch` binary: parses the command line and hands over to the
//! library. All behaviour lives in `creditwatch::daemon::commands`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Before anything builds a TLS config: one rustls crypto provider.
    creditwatch::common::install_crypto_provider();
    let cli = creditwatch::cli::Cli::parse();
    creditwatch::daemon::commands::main(cli)
}
