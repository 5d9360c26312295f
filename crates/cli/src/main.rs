//! `riskcensus`: turns natural-disaster risk census returns into a validated, map-ready risk
//! database. See the README for the commands and exit codes.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;

fn main() -> ExitCode {
    let args = args::Args::parse();
    commands::dispatch(args)
}
