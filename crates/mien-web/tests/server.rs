//! The server over loopback, as a client sees it: pages, the JSON API, limits, bad input,
//! concurrency and the live WebSocket.

use std::net::SocketAddr;
use std::sync::OnceLock;

use mien::{Analysis, Analyzer, Emotion};
use mien_web::{LiveResult, ServerConfig};
use serde_json::Value;

mod common;

use common::{SAMPLE, start};

/// One server with default limits, shared by the tests of this file.
fn server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| start(ServerConfig::default()))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status, content type and body of a request.
struct Reply {
    status: u16,
    content_type: String,
    headers: ureq::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the server answers");
    let headers = response.headers().clone();
    Reply {
        status: response.status().as_u16(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: response.body_mut().read_to_string().expect("a text body"),
        headers,
    }
}

fn get(address: SocketAddr, path: &str) -> Reply {
    reply(agent().get(format!("http://{address}{path}")).call())
}

fn post(address: SocketAddr, content_type: &str, body: &[u8]) -> Reply {
    reply(
        agent()
            .post(format!("http://{address}/api/analyze"))
            .header("content-type", content_type)
            .send(body),
    )
}

/// A multipart/form-data body with one field.
fn multipart(field: &str, file_name: Option<&str>, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "mien-test-boundary-7d1f";
    let file = file_name.map_or(String::new(), |f| format!("; filename=\"{f}\""));
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"{file}\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// What the library says about the sample photo, for comparison with the server.
fn expected_sample() -> &'static Analysis {
    static EXPECTED: OnceLock<Analysis> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let photo = mien::open_image(SAMPLE).unwrap();
        Analyzer::new().unwrap().analyze(&photo).unwrap()
    })
}

fn sample() -> Vec<u8> {
    std::fs::read(SAMPLE).unwrap()
}

fn assert_json_error(reply: &Reply, status: u16, needle: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}",
        reply.content_type
    );
    let json = reply.json();
    assert_eq!(json["status"], status);
    let message = json["error"].as_str().expect("an error message");
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
}

#[test]
fn health_says_what_the_server_runs() {
    let health = get(server(), "/healthz");
    assert_eq!(health.status, 200);
    let json = health.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["labels"], "ferplus");
    assert_eq!(json["max_upload_bytes"], 10 * 1024 * 1024);
}

#[test]
fn pages_and_assets_are_served_from_the_binary() {
    let address = server();
    for (path, content_type, needle) in [
        ("/", "text/html", "/assets/upload.js"),
        ("/live", "text/html", "/assets/live.js"),
        ("/assets/app.css", "text/css", ".faces"),
        ("/assets/mien.js", "text/javascript", "renderFaces"),
        ("/assets/upload.js", "text/javascript", "/api/analyze"),
        ("/assets/live.js", "text/javascript", "/api/live"),
    ] {
        let page = get(address, path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.content_type.starts_with(content_type),
            "{path}: {}",
            page.content_type
        );
        assert!(page.body.contains(needle), "{path} should contain {needle}");
    }
    assert_json_error(&get(address, "/assets/secret.txt"), 404, "secret.txt");
    assert_json_error(&get(address, "/nowhere"), 404, "/nowhere");
    assert_json_error(&get(address, "/api/analyze"), 405, "POST an image");
    assert_json_error(&get(address, "/api/live"), 400, "WebSocket");
}

#[test]
fn a_raw_upload_gives_the_analysis_the_library_gives() {
    let reply = post(server(), "image/jpeg", &sample());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"));
    let timing = reply
        .headers
        .get("server-timing")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(timing.starts_with("analyze;dur="), "{timing}");
    let analysis: Analysis = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(&analysis, expected_sample());
    assert_eq!(analysis.faces.len(), 1);
    assert_eq!(analysis.faces[0].emotion, Emotion::Happy);
    assert!(analysis.faces[0].smile.value() >= 8.0);
}

#[test]
fn a_multipart_upload_gives_the_same_analysis() {
    let (content_type, body) = multipart("image", Some("astronaut.jpg"), &sample());
    let reply = post(server(), &content_type, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let analysis: Analysis = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(&analysis, expected_sample());

    // Any field name works when the field carries a file (what HTML forms send).
    let (content_type, body) = multipart("photo", Some("a.jpg"), &sample());
    assert_eq!(post(server(), &content_type, &body).status, 200);
}

#[test]
fn bad_uploads_get_json_errors_that_say_what_to_do() {
    let address = server();
    let text = post(
        address,
        "image/jpeg",
        b"this is a text file named photo.jpg",
    );
    assert_json_error(&text, 422, "not an image");
    // JPEG decoders fill a cut-off scan with grey; a cut-off PNG is an error.
    let mut png = Vec::new();
    mien::open_image(SAMPLE)
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let truncated = &png[..png.len() / 2];
    assert_json_error(&post(address, "image/png", truncated), 422, "not an image");
    assert_json_error(&post(address, "image/png", b""), 400, "empty");
    let (content_type, body) = multipart("comment", None, b"hello");
    assert_json_error(&post(address, &content_type, &body), 400, "field `image`");
    let broken = "multipart/form-data; boundary=nothing-matches";
    assert_json_error(
        &post(address, broken, b"garbage"),
        400,
        "malformed multipart",
    );
    let (_, body) = multipart("image", Some("a.jpg"), &sample());
    let shouting = "Multipart/Form-Data; boundary=mien-test-boundary-7d1f";
    assert_eq!(
        post(address, shouting, &body).status,
        200,
        "media types ignore case"
    );
}

#[test]
fn uploads_over_the_limit_get_413() {
    let address = start(ServerConfig {
        max_upload_bytes: 16 * 1024,
        ..ServerConfig::default()
    });
    let bytes = sample();
    assert!(bytes.len() > 16 * 1024);
    assert_json_error(&post(address, "image/jpeg", &bytes), 413, "16 KB");
    let (content_type, body) = multipart("image", Some("big.jpg"), &bytes);
    assert_json_error(&post(address, &content_type, &body), 413, "--max-upload-mb");
    // The server keeps serving after refusing.
    assert_eq!(get(address, "/healthz").status, 200);
}

#[test]
fn a_huge_photo_is_downscaled_not_refused() {
    // 8000 × 6000 = 48 MP, over the 40 MP decode limit; 1-bit so the file is small.
    let (width, height) = (8_000u32, 6_000u32);
    let mut file = Vec::new();
    let mut encoder = png::Encoder::new(&mut file, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&vec![0xAAu8; (width / 8 * height) as usize])
        .unwrap();
    writer.finish().unwrap();
    assert!(file.len() < 1024 * 1024, "{} bytes", file.len());

    let reply = post(server(), "image/png", &file);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let analysis: Analysis = serde_json::from_str(&reply.body).unwrap();
    assert_eq!((analysis.width, analysis.height), (4_000, 3_000));
    assert!(analysis.faces.is_empty());
}

#[test]
fn concurrent_requests_share_one_model_and_agree() {
    let address = server();
    let bytes = sample();
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| post(address, "image/jpeg", &bytes)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for reply in replies {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let analysis: Analysis = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(&analysis, expected_sample());
    }
}

#[test]
fn the_live_socket_answers_every_frame_in_order() {
    use tungstenite::Message;
    let (mut socket, _) =
        tungstenite::connect(format!("ws://{}/api/live", server())).expect("WebSocket opens");
    let mut next = |message: Message| -> LiveResult {
        socket.send(message).unwrap();
        loop {
            match socket.read().unwrap() {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    };
    let first = next(Message::binary(sample()));
    assert_eq!(first.frame, 1);
    assert_eq!(first.error, None);
    assert_eq!(first.analysis.as_ref(), Some(expected_sample()));
    assert!(first.server_ms > 0.0);

    let text = next(Message::text("hello"));
    assert_eq!(text.frame, 2);
    assert!(text.analysis.is_none());
    assert!(text.error.unwrap().contains("binary message"));

    let corrupt = next(Message::binary(b"not a jpeg".to_vec()));
    assert_eq!(corrupt.frame, 3);
    assert!(corrupt.error.unwrap().contains("not an image"));

    // The connection survives bad frames.
    let again = next(Message::binary(sample()));
    assert_eq!(again.frame, 4);
    assert_eq!(again.analysis.map(|a| a.faces.len()), Some(1));
}

#[test]
fn a_live_frame_over_the_limit_closes_the_socket_with_code_1009() {
    use tungstenite::Message;
    use tungstenite::protocol::frame::coding::CloseCode;
    let address = start(ServerConfig {
        max_upload_bytes: 16 * 1024,
        ..ServerConfig::default()
    });
    let (mut socket, _) = tungstenite::connect(format!("ws://{address}/api/live")).unwrap();
    socket.send(Message::binary(sample())).unwrap();
    let close = loop {
        match socket.read() {
            Ok(Message::Close(frame)) => break frame,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let close = close.expect("the close frame says why");
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.contains("too long"), "{}", close.reason);
}

#[test]
fn a_cross_origin_websocket_is_refused() {
    use tungstenite::client::IntoClientRequest;
    let address = server();
    let mut request = format!("ws://{address}/api/live")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tungstenite::connect(request) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    // The server's own page (same host) connects.
    let mut request = format!("ws://{address}/api/live")
        .into_client_request()
        .unwrap();
    let own = format!("http://{address}").parse().unwrap();
    request.headers_mut().insert("origin", own);
    assert!(tungstenite::connect(request).is_ok());
}

/// A small photo (one synthetic "face-like" blob), quick to analyse, as PNG bytes.
fn small_photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        let d = (x as i32 - 32).pow(2) + (y as i32 - 24).pow(2);
        image::Rgb(if d < 300 {
            [220, 180, 150]
        } else {
            [30, 60, 90]
        })
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

/// Hostile HTTP and WebSocket input: a tenth of `MIEN_FUZZ_CASES`, each a round trip.
fn network_cases() -> proptest::test_runner::Config {
    let config = mien_core::fuzzing::config();
    proptest::test_runner::Config {
        cases: (config.cases / 10).max(10),
        ..config
    }
}

proptest::proptest! {
    #![proptest_config(network_cases())]

    /// Damaged multipart bodies (boundaries, headers, the file itself) get an analysis or a
    /// JSON client error, never a server error or a dropped connection.
    #[test]
    fn hostile_multipart_uploads_get_an_answer(
        body in mien_core::fuzzing::hostile_bytes(multipart("image", Some("a.png"), &small_photo()).1),
    ) {
        let (content_type, _) = multipart("image", Some("a.png"), &[]);
        let reply = post(server(), &content_type, &body);
        proptest::prop_assert!(
            reply.status == 200 || (400..500).contains(&reply.status),
            "{} {}",
            reply.status,
            reply.body
        );
    }

    /// Damaged frames on the live socket each get a result or an error message in order, and
    /// arbitrary bytes written straight onto the socket (broken WebSocket framing) end that
    /// connection only: the server keeps answering.
    #[test]
    fn hostile_live_frames_get_an_answer(
        frame in mien_core::fuzzing::mutation(small_photo()),
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..512),
    ) {
        use std::io::Write;
        use tungstenite::Message;
        let (mut socket, _) = tungstenite::connect(format!("ws://{}/api/live", server())).unwrap();
        socket.send(Message::binary(frame)).unwrap();
        let answer = loop {
            match socket.read().unwrap() {
                Message::Text(text) => break serde_json::from_str::<LiveResult>(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        };
        proptest::prop_assert_eq!(answer.frame, 1);
        proptest::prop_assert!(answer.analysis.is_some() != answer.error.is_some());
        if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_mut() {
            // The server may wait for the rest of a frame the bytes began: do not wait with it.
            stream
                .set_read_timeout(Some(std::time::Duration::from_millis(20)))
                .unwrap();
            let _ = stream.write_all(&raw);
        }
        let _ = socket.read();
        proptest::prop_assert_eq!(get(server(), "/healthz").status, 200);
    }
}

#[test]
fn happier_answers_the_edited_photo_with_each_smile_before_and_after() {
    let address = start(ServerConfig::default());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |query: &str, body: &[u8]| {
        let mut response = agent
            .post(format!("http://{address}/api/happier{query}"))
            .header("content-type", "image/jpeg")
            .send(body)
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        )
    };
    let photo = std::fs::read(common::SAMPLE).unwrap();
    let (status, answer) = post("?strength=-2", &photo);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,")
    );
    let smiles = answer["smiles"].as_array().unwrap();
    assert_eq!(smiles.len(), 1, "{answer}");
    assert!(
        smiles[0]["after"].as_f64() < smiles[0]["before"].as_f64(),
        "{answer}"
    );
    let (status, answer) = post("?strength=9", &photo);
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("outside -2..=2"));
    let (status, answer) = post("?strength=lots", &photo);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("?strength=S"),
        "{answer}"
    );
    let (status, answer) = post("", b"not an image");
    assert_eq!(status, 422, "{answer}");
}

#[test]
fn analyze_adds_each_face_s_mesh_when_asked() {
    let address = start(ServerConfig::default());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |query: &str| {
        let mut response = agent
            .post(format!("http://{address}/api/analyze{query}"))
            .header("content-type", "image/jpeg")
            .send(&std::fs::read(common::SAMPLE).unwrap()[..])
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        )
    };
    let (status, plain) = post("");
    assert_eq!(status, 200, "{plain}");
    assert!(plain["faces"][0].get("landmarks").is_none());
    let (status, meshed) = post("?landmarks=true");
    assert_eq!(status, 200);
    let points = meshed["faces"][0]["landmarks"]["found"]["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", meshed["faces"][0]));
    assert_eq!(points.len(), 468);
    assert_eq!(points[0].as_array().unwrap().len(), 3);
    let (status, answer) = post("?landmarks=please");
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("?landmarks=true"),
        "{answer}"
    );
}
