//! What the server's test files share: starting a server, the sample photo.

use std::net::SocketAddr;

use mien::Analyzer;
use mien_web::ServerConfig;

/// The fixture photo: one smiling face.
pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/astronaut.jpg");

/// Starts a server with `config` on a free loopback port, on its own runtime thread.
pub fn start(config: ServerConfig) -> SocketAddr {
    let analyzer = Analyzer::new().expect("bundled analyzer loads");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            mien_web::serve(listener, analyzer, config, std::future::pending()).await;
        });
    });
    rx.recv().expect("server started")
}
