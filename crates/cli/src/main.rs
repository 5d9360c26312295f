//! `riskcensus`: turns natural-disaster risk census returns into a validated, map-ready risk
//! database. See the README for the commands and exit codes.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a census file is millions of small strings; the system allocator spent a third of
/// the time in malloc/free (perf, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod commands;

fn main() -> ExitCode {
    let args = args::Args::parse();
    commands::dispatch(args)
}
