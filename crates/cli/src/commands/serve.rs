//! `riskcensus serve --pipeline P [--listen ADDR] [--token T]`: the web page (riskcensus-serve).

use std::net::SocketAddr;
use std::path::PathBuf;

use riskcensus_pipeline::PipelineError;

pub fn serve(
    pipeline: PathBuf,
    listen: SocketAddr,
    token: Option<String>,
    max_upload_mib: usize,
) -> Result<u8, PipelineError> {
    let mut options = riskcensus_serve::Options::new(pipeline);
    options.listen = listen;
    options.token = token;
    options.limits.upload_bytes = max_upload_mib.max(1) << 20;
    match riskcensus_serve::serve(options) {
        Ok(()) => Ok(0),
        Err(riskcensus_serve::ServeError::Pipeline(e)) => Err(e),
        Err(e) => {
            eprintln!("riskcensus: error: {e}");
            Ok(e.exit_code())
        }
    }
}
