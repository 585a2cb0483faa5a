//! The layer without axum: a plain `tower::service_fn`, driven directly and served by
//! hyper over a real TCP connection.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt as _, Full};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::{Layer as _, Service, ServiceExt as _, service_fn};
use tower_sessions_sealed::{
    KeyRing, ResponseBody, ResponseFuture, Session, SessionManager, SessionManagerLayer,
};

async fn counter<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let session = req
        .extensions()
        .get::<Session>()
        .cloned()
        .expect("the layer adds a Session");
    let n: u64 = session.get("n").await.unwrap().unwrap_or(0);
    session.insert("n", n + 1).await.unwrap();
    Ok(Response::new(Full::from((n + 1).to_string())))
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}
fn assert_clone<T: Clone>() {}

#[test]
fn public_types_are_send_sync_and_clone() {
    assert_send_sync::<KeyRing>();
    assert_send_sync::<SessionManagerLayer>();
    assert_send_sync::<tower_sessions_sealed::Key>();
    assert_send_sync::<tower_sessions_sealed::SealedRecord>();
    assert_send_sync::<tower_sessions_sealed::Error>();
    assert_send_sync::<tower_sessions_sealed::KeyRingError>();
    assert_send_sync::<tower_sessions_sealed::ConfigError>();
    assert_send_sync::<ResponseBody<Full<Bytes>>>();
    assert_clone::<SessionManagerLayer>();
    type Svc = SessionManager<
        tower::util::ServiceFn<
            fn(Request<String>) -> std::future::Ready<Result<Response<String>, Infallible>>,
        >,
    >;
    assert_send_sync::<Svc>();
    assert_clone::<Svc>();
    assert_send::<
        ResponseFuture<
            std::future::Ready<Result<Response<String>, Infallible>>,
            String,
            Infallible,
        >,
    >();
    assert_send_sync::<tower_sessions_sealed::Revoker>();
    assert_clone::<tower_sessions_sealed::Revoker>();
    assert_send_sync::<tower_sessions_sealed::Subject>();
    assert_send_sync::<tower_sessions_sealed::RevocationError>();
}

#[tokio::test]
async fn works_as_a_plain_tower_service() {
    let mut svc =
        SessionManagerLayer::new(KeyRing::generate()).layer(service_fn(counter::<String>));
    let response = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(String::new()))
        .await
        .unwrap();
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "1");

    let request = Request::builder()
        .header(header::COOKIE, &pair)
        .body(String::new())
        .unwrap();
    let response = svc.ready().await.unwrap().call(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "2");
}

#[tokio::test]
async fn works_under_hyper_without_axum() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = SessionManagerLayer::new(KeyRing::generate())
        .with_secure(false)
        .layer(service_fn(counter::<hyper::body::Incoming>));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = hyper_util::service::TowerToHyperService::new(svc.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });

    async fn raw_get(addr: std::net::SocketAddr, cookie: Option<&str>) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET / HTTP/1.1\r\nHost: localhost\r\n{cookie}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    let first = raw_get(addr, None).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.ends_with("\r\n\r\n1"), "{first}");
    let set_cookie = first
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .expect("a Set-Cookie header");
    let pair = set_cookie.split(';').next().unwrap();
    let second = raw_get(addr, Some(pair)).await;
    assert!(second.ends_with("\r\n\r\n2"), "{second}");
    assert!(
        second.to_ascii_lowercase().contains("vary: cookie"),
        "{second}"
    );
}
