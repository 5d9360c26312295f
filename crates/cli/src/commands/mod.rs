//! One module per subcommand; `dispatch` maps outcomes to the documented exit codes:
//! 0 no errors, 1 errors found in the data, 2 usage or configuration error, 3 an input could not
//! be read, 4 the output could not be written (or an internal error).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::args::{Args, Command};

mod fix;
mod progress;
mod run;
mod schema;
mod serve;
mod synth;
mod template;
mod validate;

/// Run the chosen subcommand.
pub fn dispatch(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Run {
            pipeline,
            out,
            quiet,
            lang,
            timings,
            batch_mib,
            gpkg,
        } => run::run(
            &pipeline,
            out.as_deref(),
            quiet,
            lang,
            timings.as_deref(),
            (batch_mib, gpkg),
        ),
        Command::Validate {
            files,
            pipeline,
            class,
            format,
            output,
            lang,
            max_findings,
            fail_on,
            timings,
            batch_mib,
        } => validate::validate(validate::Request {
            files,
            pipeline,
            class,
            format,
            output,
            lang,
            max_findings,
            fail_on,
            timings,
            batch_mib,
        }),
        Command::Synth {
            villages,
            rows,
            seed,
            out,
            defect_rate,
            schemas,
            village_shape,
        } => synth::synth(
            &riskcensus_synth::Options {
                villages,
                rows,
                seed,
                defect_rate,
                village_shape,
            },
            &schemas,
            &out,
        ),
        Command::Fix {
            files,
            pipeline,
            class,
            out,
        } => fix::fix(&files, &pipeline, class.as_deref(), &out),
        Command::Serve {
            pipeline,
            listen,
            token,
            max_upload_mib,
        } => serve::serve(pipeline, listen, token, max_upload_mib),
        Command::Schema { schemas, action } => schema::schema(&schemas, action),
        Command::Template {
            codes,
            all,
            out,
            schemas,
        } => template::template(&schemas, &codes, all, &out),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("riskcensus: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Write the run's stage timings as JSON (`--timings FILE`).
pub fn write_timings(
    path: Option<&std::path::Path>,
    timings: &riskcensus_pipeline::Timings,
    total: std::time::Duration,
) -> Result<(), riskcensus_pipeline::PipelineError> {
    let Some(path) = path else { return Ok(()) };
    let mut json = timings.to_json();
    json["total_seconds"] = serde_json::json!((total.as_secs_f64() * 1e4).round() / 1e4);
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| riskcensus_pipeline::PipelineError::Internal(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| {
        riskcensus_pipeline::PipelineError::Internal(format!(
            "cannot write {}: {e}",
            path.display()
        ))
    })
}

/// Colour on stderr/stdout only for a terminal and when NO_COLOR is unset.
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Write to stdout; a closed pipe (`riskcensus … | head`) is not an error.
pub fn print_stdout(bytes: &[u8]) -> Result<(), riskcensus_pipeline::PipelineError> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(
            riskcensus_pipeline::PipelineError::Internal(format!("cannot write to stdout: {e}")),
        ),
        _ => Ok(()),
    }
}
