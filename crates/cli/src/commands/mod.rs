//! One module per subcommand; `dispatch` maps outcomes to the documented exit codes:
//! 0 no errors, 1 errors found in the data, 2 usage or configuration error, 3 an input could not
//! be read, 4 the output could not be written (or an internal error).

use std::process::ExitCode;

use riskcensus_pipeline::PipelineError;

use crate::args::{Args, Command};

mod run;
mod schema;
mod validate;

/// Run the chosen subcommand.
pub fn dispatch(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Run {
            pipeline,
            out,
            quiet,
        } => run::run(&pipeline, out.as_deref(), quiet),
        Command::Validate {
            pipeline,
            format,
            fail_on,
        } => validate::validate(&pipeline, format, fail_on),
        Command::Schema { schemas, action } => schema::schema(&schemas, action),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("riskcensus: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Load a pipeline file, mapping problems to exit code 2.
pub fn load(path: &std::path::Path) -> Result<riskcensus_pipeline::Pipeline, PipelineError> {
    riskcensus_pipeline::Pipeline::load(path)
}
