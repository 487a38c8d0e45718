//! `mien-web`: the web server. Open the printed address in a browser.
//!
//! ```text
//! mien-web                          # http://127.0.0.1:8080
//! mien-web --port 3000 --model default --max-upload-mb 20
//! mien-web --host 0.0.0.0           # reachable from other machines: mind who can reach it
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use mien::{Analyzer, Pretrained};
use mien_web::ServerConfig;

/// Serve mien's upload page, webcam page and JSON API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; the default accepts connections from this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Bundled model: ferplus-smile (8 emotions + smile head) or default (7 emotions).
    #[arg(long, default_value = "ferplus-smile")]
    model: Pretrained,
    /// Treat every image as one pre-cropped face instead of detecting faces.
    #[arg(long)]
    whole_image: bool,
    /// Read each face once instead of averaging it with its mirror image: half the
    /// classifier's time, 0.8–2 points less accurate (docs/models/).
    #[arg(long)]
    single_pass: bool,
    /// Largest upload (larger: 413) and webcam frame (larger: the WebSocket closes) in MB.
    #[arg(long, default_value_t = 10.0)]
    max_upload_mb: f64,
    /// Images analysed at once (default: the number of cores); others wait their turn.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Open connections at most; further ones get 503.
    #[arg(long, default_value_t = ServerConfig::default().max_connections)]
    max_connections: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.max_upload_mb > 0.0 && args.max_upload_mb <= 4096.0) {
        eprintln!(
            "error: --max-upload-mb must be between 0 and 4096, got {}",
            args.max_upload_mb
        );
        return ExitCode::FAILURE;
    }
    let analyzer = match Analyzer::builder()
        .pretrained(args.model)
        .whole_image(args.whole_image)
        .mirror_average(!args.single_pass)
        .build()
    {
        Ok(analyzer) => analyzer,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        max_upload_bytes: (args.max_upload_mb * 1024.0 * 1024.0) as usize,
        max_concurrent_analyses: args.concurrency.unwrap_or(defaults.max_concurrent_analyses),
        max_connections: args.max_connections,
        ..defaults
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args.host, args.port, analyzer, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    host: IpAddr,
    port: u16,
    analyzer: Analyzer,
    config: ServerConfig,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {host}:{port}: {e} (is another server using the port? try --port)"
            )
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    println!(
        "mien web: listening on http://{address} (upload page /, webcam page /live; Ctrl-C stops)"
    );
    mien_web::serve(listener, analyzer, config, async {
        tokio::signal::ctrl_c().await.ok();
    })
    .await;
    Ok(())
}
