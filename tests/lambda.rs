//! The Lambda example (`examples/lambda/app.rs`) driven by event JSON in every shape Lambda
//! delivers to an HTTP function, through `lambda_http`'s own request and response
//! conversions (its doc-hidden `Adapter`, which `lambda_http::run` wraps around the app),
//! asserting what the client gets back from API Gateway, the Function URL or the ALB.
//!
//! The events (`tests/lambda_events/`) are written from the documented payload formats:
//! API Gateway HTTP API payload 2.0 (the `cookies` array; `$default` and a named stage), a
//! Lambda Function URL (the same format, on an `on.aws` host, form bodies base64-encoded),
//! API Gateway REST API payload 1.0 (`headers` and `multiValueHeaders`, a named stage), and
//! an ALB target group with multi-value headers off (`headers` only) and on
//! (`multiValueHeaders` only). What the client sees of a response:
//!
//! | shape | `Set-Cookie` reaches the client through |
//! |---|---|
//! | HTTP API 2.0, Function URL | the response's `cookies` array (never `headers`) |
//! | REST API 1.0 | `multiValueHeaders` (`headers` is left empty) |
//! | ALB, multi-value headers off | `headers`: one value per name, the first |
//! | ALB, multi-value headers on | `multiValueHeaders` |
//!
//! Every invocation is a cold start: a new app, layer and adapter built from nothing but the
//! `SESSION_KEYS` text; and one flow runs each invocation in a separate process that reads
//! `SESSION_KEYS` from its environment, as `main.rs` does.

#[path = "../examples/lambda/app.rs"]
#[allow(dead_code)]
mod app;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::Cookie;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_sessions_sealed::KeyRing;

/// The deployment's key ring, as the function's environment would hold it.
const KEYS: &str = "Yy1rZXktb25lLWZvci10aGUtbGFtYmRhLXRlc3RzLTAwMDE";
/// A newer key put first: the ring after a rotation.
const ROTATED_KEYS: &str = "7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e2b4d6f8a0c2,\
                            Yy1rZXktb25lLWZvci10aGUtbGFtYmRhLXRlc3RzLTAwMDE";
/// Another deployment's key.
const OTHER_KEYS: &str = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf";

/// The session cookie's name (`app::session_layer`).
const NAME: &str = "id";
/// An unrelated cookie of the same site, always sent along.
const THEME: &str = "theme=dark";

/// The event shapes of an HTTP function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// API Gateway HTTP API, payload format 2.0, `$default` stage.
    HttpApi,
    /// API Gateway HTTP API, payload format 2.0, the named stage `prod` (in `rawPath`).
    HttpApiStage,
    /// Lambda Function URL (payload format 2.0).
    FunctionUrl,
    /// API Gateway REST API, payload format 1.0, stage `prod`.
    RestApi,
    /// ALB target group, multi-value headers off.
    Alb,
    /// ALB target group, multi-value headers on.
    AlbMultiValue,
}

const SHAPES: [Shape; 6] = [
    Shape::HttpApi,
    Shape::HttpApiStage,
    Shape::FunctionUrl,
    Shape::RestApi,
    Shape::Alb,
    Shape::AlbMultiValue,
];

impl Shape {
    fn template(self) -> &'static str {
        match self {
            Self::HttpApi => include_str!("lambda_events/apigw_http_v2.json"),
            Self::HttpApiStage => include_str!("lambda_events/apigw_http_v2_stage.json"),
            Self::FunctionUrl => include_str!("lambda_events/function_url.json"),
            Self::RestApi => include_str!("lambda_events/apigw_rest_v1.json"),
            Self::Alb => include_str!("lambda_events/alb.json"),
            Self::AlbMultiValue => include_str!("lambda_events/alb_multi_value.json"),
        }
    }

    /// The event for `method path` carrying `cookies` (`name=value` each, as the browser
    /// sends them) and, for a POST, a form body, in this shape's fields.
    fn event(self, method: &str, path: &str, cookies: &[String], form: Option<&str>) -> Value {
        let mut event: Value = serde_json::from_str(self.template()).unwrap();
        let joined = cookies.join("; ");
        match self {
            Self::HttpApi | Self::HttpApiStage | Self::FunctionUrl => {
                // The stage, when named, is part of rawPath and requestContext.http.path.
                let full = match self {
                    Self::HttpApiStage => format!("/prod{path}"),
                    _ => path.to_owned(),
                };
                event["rawPath"] = json!(full);
                event["requestContext"]["http"]["method"] = json!(method);
                event["requestContext"]["http"]["path"] = json!(full);
                // Payload 2.0 carries the cookies in their own array, not in `headers`.
                if cookies.is_empty() {
                    event.as_object_mut().unwrap().remove("cookies");
                } else {
                    event["cookies"] = json!(cookies);
                }
                if let Some(form) = form {
                    // HTTP APIs and Function URLs base64-encode form bodies.
                    event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
                    event["headers"]["content-length"] = json!(form.len().to_string());
                    event["body"] = json!(STANDARD.encode(form));
                    event["isBase64Encoded"] = json!(true);
                }
            }
            Self::RestApi => {
                event["path"] = json!(path);
                event["httpMethod"] = json!(method);
                event["requestContext"]["httpMethod"] = json!(method);
                event["requestContext"]["path"] = json!(format!("/prod{path}"));
                event["pathParameters"]["proxy"] = json!(path.trim_start_matches('/'));
                // REST APIs send every header in both maps.
                set_header(
                    &mut event,
                    "Cookie",
                    (!cookies.is_empty()).then_some(&joined),
                );
                if let Some(form) = form {
                    let ct = "application/x-www-form-urlencoded";
                    set_header(&mut event, "Content-Type", Some(ct));
                    event["body"] = json!(form);
                }
            }
            Self::Alb => {
                event["path"] = json!(path);
                event["httpMethod"] = json!(method);
                let headers = event["headers"].as_object_mut().unwrap();
                if cookies.is_empty() {
                    headers.remove("cookie");
                } else {
                    headers.insert("cookie".into(), json!(joined));
                }
                if let Some(form) = form {
                    headers.insert(
                        "content-type".into(),
                        json!("application/x-www-form-urlencoded"),
                    );
                    event["body"] = json!(form);
                }
            }
            Self::AlbMultiValue => {
                event["path"] = json!(path);
                event["httpMethod"] = json!(method);
                let headers = event["multiValueHeaders"].as_object_mut().unwrap();
                // One `cookie` value per cookie: the layer must read all of them.
                if cookies.is_empty() {
                    headers.remove("cookie");
                } else {
                    headers.insert("cookie".into(), json!(cookies));
                }
                if let Some(form) = form {
                    headers.insert(
                        "content-type".into(),
                        json!(["application/x-www-form-urlencoded"]),
                    );
                    event["body"] = json!(form);
                }
            }
        }
        event
    }
}

/// Sets (or, with `None`, removes) a header in both of a REST API event's header maps.
fn set_header(event: &mut Value, name: &str, value: Option<&str>) {
    for (map, value) in [
        ("headers", value.map(|v| json!(v))),
        ("multiValueHeaders", value.map(|v| json!([v]))),
    ] {
        let headers = event[map].as_object_mut().unwrap();
        match value {
            Some(value) => headers.insert(name.to_owned(), value),
            None => headers.remove(name),
        };
    }
}

/// One cold start: a new app from the key text alone, one event in, the JSON the function
/// returns to Lambda out.
async fn invoke_with(keys: &str, event: Value) -> Value {
    let keys: KeyRing = keys.parse().unwrap();
    invoke_app(keys, event).await
}

/// `event` through `lambda_http`'s conversions into the example app and back.
async fn invoke_app(keys: KeyRing, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event).unwrap();
    let adapter = Adapter::from(app::app(keys));
    let response = adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(&response).unwrap()
}

/// What the client receives, read from the function's JSON as the trigger reads it.
#[derive(Debug)]
struct Received {
    status: u16,
    body: String,
    /// Every `Set-Cookie` the client gets.
    set_cookies: Vec<String>,
    /// The response headers the client gets (lowercase names), first value each.
    headers: serde_json::Map<String, Value>,
}

/// Reads `response` as `shape`'s trigger passes it on, checking the shape's invariants.
fn receive(shape: Shape, response: &Value) -> Received {
    let object = response.as_object().unwrap();
    let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
    let body = match &response["body"] {
        Value::Null => String::new(),
        Value::String(body) if response["isBase64Encoded"] == json!(true) => {
            String::from_utf8(STANDARD.decode(body).unwrap()).unwrap()
        }
        Value::String(body) => body.clone(),
        other => panic!("body {other}"),
    };
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let headers = |name: &str| response[name].as_object().cloned().unwrap_or_default();
    let multi = |name: &str| -> Vec<String> {
        response["multiValueHeaders"]
            .get(name)
            .map(strings)
            .unwrap_or_default()
    };
    match shape {
        Shape::HttpApi | Shape::HttpApiStage | Shape::FunctionUrl => {
            // Payload 2.0: cookies in their own array, none left in `headers`, no
            // `multiValueHeaders` (format 2.0 has none).
            assert!(object.contains_key("cookies"), "{response}");
            assert!(!headers("headers").contains_key("set-cookie"), "{response}");
            assert_eq!(response["multiValueHeaders"], json!({}), "{response}");
            assert!(!object.contains_key("statusDescription"));
            Received {
                status,
                body,
                set_cookies: strings(&response["cookies"]),
                headers: headers("headers"),
            }
        }
        Shape::RestApi => {
            // Payload 1.0: everything in `multiValueHeaders`; `headers` empty so that API
            // Gateway does not merge duplicates into the response.
            assert_eq!(response["headers"], json!({}), "{response}");
            assert!(!object.contains_key("cookies"));
            assert!(!object.contains_key("statusDescription"));
            let headers = first_values(&response["multiValueHeaders"]);
            Received {
                status,
                body,
                set_cookies: multi("set-cookie"),
                headers,
            }
        }
        Shape::Alb | Shape::AlbMultiValue => {
            // ALB responses carry both maps and a status description; the target group's
            // setting decides which map the load balancer reads.
            assert!(
                response["statusDescription"]
                    .as_str()
                    .unwrap()
                    .starts_with(&status.to_string())
            );
            assert!(!object.contains_key("cookies"));
            let all = multi("set-cookie");
            // Where the shape keeps one value per header, one is all there may be.
            assert!(all.len() <= 1, "more than one Set-Cookie: {all:?}");
            let single: Vec<String> = headers("headers")
                .get("set-cookie")
                .map(|v| vec![v.as_str().unwrap().to_owned()])
                .unwrap_or_default();
            assert_eq!(single, all, "the two maps agree");
            let (set_cookies, headers) = if shape == Shape::Alb {
                (single, headers("headers"))
            } else {
                (all, first_values(&response["multiValueHeaders"]))
            };
            Received {
                status,
                body,
                set_cookies,
                headers,
            }
        }
    }
}

fn first_values(multi: &Value) -> serde_json::Map<String, Value> {
    multi
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, values)| (name.clone(), values[0].clone()))
        .collect()
}

/// A browser's cookie jar for the one site: the session cookie, plus the theme cookie that
/// is always sent.
#[derive(Clone, Debug, Default)]
struct Jar {
    session: Option<String>,
}

impl Jar {
    fn cookies(&self) -> Vec<String> {
        let mut cookies = vec![THEME.to_owned()];
        if let Some(value) = &self.session {
            cookies.push(format!("{NAME}={value}"));
        }
        cookies
    }

    /// Applies the response's cookies; every response sets at most one.
    fn update(&mut self, received: &Received) {
        assert!(
            received.set_cookies.len() <= 1,
            "{:?}",
            received.set_cookies
        );
        for header in &received.set_cookies {
            let cookie = Cookie::parse(header.as_str()).unwrap();
            assert_eq!(cookie.name(), NAME);
            if cookie.max_age() == Some(time::Duration::ZERO) {
                self.session = None;
            } else {
                self.session = Some(cookie.value().to_owned());
            }
        }
    }
}

/// A browser on one trigger: each request a cold start with `keys`.
struct Browser {
    shape: Shape,
    keys: &'static str,
    jar: Jar,
}

impl Browser {
    fn new(shape: Shape) -> Self {
        Self {
            shape,
            keys: KEYS,
            jar: Jar::default(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> Received {
        let event = self.shape.event(method, path, &self.jar.cookies(), form);
        let received = receive(self.shape, &invoke_with(self.keys, event).await);
        self.jar.update(&received);
        received
    }

    async fn get(&mut self, path: &str) -> Received {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: Option<&str>) -> Received {
        self.send("POST", path, form).await
    }
}

/// The session cookie of a `Set-Cookie`, checked attribute by attribute.
fn assert_session_cookie(received: &Received) -> String {
    assert_eq!(received.set_cookies.len(), 1, "{received:?}");
    let header = &received.set_cookies[0];
    let cookie = Cookie::parse(header.as_str()).unwrap();
    assert_eq!(cookie.name(), NAME);
    assert!(!cookie.value().is_empty());
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.max_age(), Some(time::Duration::minutes(30)));
    // Not for shared caches, and varies with the cookie.
    assert_eq!(received.headers["cache-control"], "no-store");
    assert!(
        received.headers["vary"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("cookie"),
        "{received:?}"
    );
    cookie.value().to_owned()
}

fn assert_removal_cookie(received: &Received) {
    assert_eq!(received.set_cookies.len(), 1, "{received:?}");
    let cookie = Cookie::parse(received.set_cookies[0].as_str()).unwrap();
    assert_eq!(cookie.name(), NAME);
    assert_eq!(cookie.value(), "");
    assert_eq!(cookie.max_age(), Some(time::Duration::ZERO));
    assert_eq!(cookie.path(), Some("/"));
}

const LOGIN: &str = "username=ada&password=lovelace";

#[tokio::test]
async fn login_counter_logout_across_cold_starts_on_every_trigger() {
    for shape in SHAPES {
        let mut browser = Browser::new(shape);

        let anonymous = browser.get("/").await;
        assert_eq!(
            (anonymous.status, anonymous.body.as_str()),
            (401, "not logged in\n"),
            "{shape:?}"
        );
        assert!(
            anonymous.set_cookies.is_empty(),
            "no session, nothing set: {anonymous:?}"
        );

        let wrong = browser
            .post("/login", Some("username=ada&password=babbage"))
            .await;
        assert_eq!(wrong.status, 401, "{shape:?}");
        assert!(wrong.set_cookies.is_empty(), "{wrong:?}");

        let login = browser.post("/login", Some(LOGIN)).await;
        assert_eq!(
            (login.status, login.body.as_str()),
            (200, "logged in as ada\n"),
            "{shape:?}"
        );
        assert_session_cookie(&login);

        for visit in 1..=3 {
            let counter = browser.get("/").await;
            assert_eq!(
                (counter.status, counter.body.clone()),
                (200, format!("ada: visit {visit}\n")),
                "{shape:?}"
            );
            assert_session_cookie(&counter);
        }
        let before_logout = browser.jar.clone();

        let logout = browser.post("/logout", None).await;
        assert_eq!(
            (logout.status, logout.body.as_str()),
            (200, "logged out\n"),
            "{shape:?}"
        );
        assert_removal_cookie(&logout);
        assert!(browser.jar.session.is_none());

        let after = browser.get("/").await;
        assert_eq!(after.status, 401, "{shape:?}");
        assert!(after.set_cookies.is_empty(), "{after:?}");

        // Stateless (no `with_revocation`): a copy of the cookie taken before the logout
        // still opens until it expires. The README's "Deploying to AWS Lambda" says how to end that.
        let mut replay = Browser::new(shape);
        replay.jar = before_logout;
        let replayed = replay.get("/").await;
        assert_eq!(replayed.body, "ada: visit 4\n", "{shape:?}");
    }
}

#[tokio::test]
async fn a_tampered_cookie_is_a_fresh_session_and_is_removed() {
    for shape in SHAPES {
        let mut browser = Browser::new(shape);
        let login = browser.post("/login", Some(LOGIN)).await;
        let value = assert_session_cookie(&login);
        let envelope = URL_SAFE_NO_PAD.decode(&value).unwrap();
        // Each region of the envelope: version, key id, nonce, ciphertext, tag.
        for index in [0, 2, 10, 40, envelope.len() - 1] {
            let mut tampered = envelope.clone();
            tampered[index] ^= 0x01;
            let mut attacker = Browser::new(shape);
            attacker.jar.session = Some(URL_SAFE_NO_PAD.encode(&tampered));
            let received = attacker.get("/").await;
            assert_eq!(
                (received.status, received.body.as_str()),
                (401, "not logged in\n"),
                "{shape:?}, byte {index}"
            );
            assert_removal_cookie(&received);
        }
        // Sealed by another deployment (another key): also a fresh session.
        let mut other = Browser::new(shape);
        other.keys = OTHER_KEYS;
        other.post("/login", Some(LOGIN)).await;
        let foreign = other.jar.session.clone().unwrap();
        let mut attacker = Browser::new(shape);
        attacker.jar.session = Some(foreign);
        let received = attacker.get("/").await;
        assert_eq!(received.status, 401, "{shape:?}");
        assert_removal_cookie(&received);
        // The genuine cookie still works.
        assert_eq!(browser.get("/").await.body, "ada: visit 1\n");
    }
}

#[tokio::test]
async fn the_session_cookie_is_found_among_other_cookies() {
    for shape in SHAPES {
        let mut browser = Browser::new(shape);
        browser.post("/login", Some(LOGIN)).await;
        let session = format!("{NAME}={}", browser.jar.session.clone().unwrap());
        // Other cookies before and after ours, in the shape's own fields.
        let cookies = vec![
            "a=1".to_owned(),
            session,
            THEME.to_owned(),
            "idx=2".to_owned(),
        ];
        let event = shape.event("GET", "/", &cookies, None);
        let received = receive(shape, &invoke_with(KEYS, event).await);
        assert_eq!(received.body, "ada: visit 1\n", "{shape:?}");
    }
}

#[tokio::test]
async fn what_other_cookies_of_the_site_do_to_the_session_on_payload_2() {
    for shape in [Shape::HttpApi, Shape::FunctionUrl] {
        let mut browser = Browser::new(shape);
        browser.post("/login", Some(LOGIN)).await;
        let session = format!("{NAME}={}", browser.jar.session.clone().unwrap());
        // A UTF-8 cookie value from another app on the domain: lambda_http still builds the
        // Cookie header (header values may hold bytes above 0x7f), and the session opens.
        let cookies = vec!["pref=café".to_owned(), session.clone()];
        let event = shape.event("GET", "/", &cookies, None);
        let received = receive(shape, &invoke_with(KEYS, event).await);
        assert_eq!(received.body, "ada: visit 1\n", "{shape:?}");
        // A control character in any cookie makes lambda_http 1.3 drop the whole `cookies`
        // array (the joined header is invalid): the request arrives without a session. A
        // limit of lambda_http (the README's "Deploying to AWS Lambda"), not of the layer.
        let cookies = vec!["bad=\u{1}".to_owned(), session];
        let event = shape.event("GET", "/", &cookies, None);
        let received = receive(shape, &invoke_with(KEYS, event).await);
        assert_eq!(received.status, 401, "{shape:?}");
        assert!(received.set_cookies.is_empty());
    }
}

#[tokio::test]
async fn a_rotated_ring_opens_old_cookies_and_reseals_them_under_the_new_key() {
    for shape in [Shape::HttpApi, Shape::RestApi, Shape::Alb] {
        let mut browser = Browser::new(shape);
        browser.post("/login", Some(LOGIN)).await;
        let old = browser.jar.session.clone().unwrap();
        // The next invocation runs with the new ring (new key first, old key second).
        browser.keys = ROTATED_KEYS;
        let received = browser.get("/").await;
        assert_eq!(received.body, "ada: visit 1\n", "{shape:?}");
        let new = assert_session_cookie(&received);
        let kid = |value: &str| URL_SAFE_NO_PAD.decode(value).unwrap()[1..5].to_vec();
        let new_kid = ROTATED_KEYS.parse::<KeyRing>().unwrap().key_ids().next();
        assert_ne!(kid(&old), kid(&new));
        assert_eq!(Some(kid(&new)), new_kid.map(|k| k.to_vec()));
        // Once the old key is dropped, only the re-sealed cookie opens.
        let dropped = "7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e2b4d6f8a0c2";
        let event = shape.event("GET", "/", &[format!("{NAME}={new}")], None);
        let received = receive(shape, &invoke_with(dropped, event).await);
        assert_eq!(received.body, "ada: visit 2\n");
        let event = shape.event("GET", "/", &[format!("{NAME}={old}")], None);
        let received = receive(shape, &invoke_with(dropped, event).await);
        assert_eq!(received.status, 401);
    }
}

#[tokio::test]
async fn a_stage_prefix_is_not_part_of_the_route() {
    // Without AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH, lambda_http puts `/prod` in front of a
    // REST API's path; an HTTP API on a named stage has it in rawPath. The app strips it.
    let request: LambdaRequest =
        serde_json::from_value(Shape::RestApi.event("GET", "/login", &[], None)).unwrap();
    let request: lambda_http::Request = request.into();
    assert_eq!(request.uri().path(), "/prod/login");
    for shape in [Shape::RestApi, Shape::HttpApiStage] {
        let received = receive(
            shape,
            &invoke_with(KEYS, shape.event("POST", "/login", &[], Some(LOGIN))).await,
        );
        assert_eq!(received.body, "logged in as ada\n", "{shape:?}");
        // A path that only starts like the stage is left alone (and not found).
        let mut event = shape.event("GET", "/", &[], None);
        if shape == Shape::RestApi {
            event["path"] = json!("/production");
        } else {
            event["rawPath"] = json!("/production");
        }
        let received = receive(shape, &invoke_with(KEYS, event).await);
        assert_eq!(received.status, 404, "{shape:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Cold starts as separate processes: each invocation runs in a child process (this test
// binary again, running only `lambda_child_invocation`) whose only link to the others is the
// SESSION_KEYS environment variable, read with `KeyRing::from_env` as main.rs reads it.

/// The variable the child reads its event from (a file path).
const CHILD_EVENT: &str = "TSS_LAMBDA_CHILD_EVENT";
/// The variable naming the file the child writes the function's response JSON to.
const CHILD_OUT: &str = "TSS_LAMBDA_CHILD_OUT";

#[tokio::test]
#[ignore = "one invocation in a child process; run by cold_starts_in_separate_processes"]
async fn lambda_child_invocation() {
    let event = std::fs::read_to_string(std::env::var(CHILD_EVENT).unwrap()).unwrap();
    let keys = KeyRing::from_env("SESSION_KEYS").unwrap();
    let response = invoke_app(keys, serde_json::from_str(&event).unwrap()).await;
    std::fs::write(std::env::var(CHILD_OUT).unwrap(), response.to_string()).unwrap();
}

fn scratch_file(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("tss-lambda-{}-{n}-{what}.json", std::process::id()))
}

/// One invocation in a fresh process with `SESSION_KEYS=keys`.
fn invoke_in_child(keys: &str, event: &Value) -> Value {
    let (event_file, out_file) = (scratch_file("event"), scratch_file("response"));
    std::fs::write(&event_file, event.to_string()).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lambda_child_invocation",
            "--ignored",
            "--test-threads=1",
        ])
        .env("SESSION_KEYS", keys)
        .env(CHILD_EVENT, &event_file)
        .env(CHILD_OUT, &out_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "child invocation failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let response = std::fs::read_to_string(&out_file).unwrap();
    let _ = std::fs::remove_file(event_file);
    let _ = std::fs::remove_file(out_file);
    serde_json::from_str(&response).unwrap()
}

#[test]
fn cold_starts_in_separate_processes() {
    for shape in [Shape::FunctionUrl, Shape::AlbMultiValue] {
        let mut jar = Jar::default();
        let mut send = |method: &str, path: &str, form: Option<&str>| {
            let event = shape.event(method, path, &jar.cookies(), form);
            let received = receive(shape, &invoke_in_child(KEYS, &event));
            jar.update(&received);
            received
        };
        let login = send("POST", "/login", Some(LOGIN));
        assert_session_cookie(&login);
        assert_eq!(send("GET", "/", None).body, "ada: visit 1\n", "{shape:?}");
        assert_eq!(send("GET", "/", None).body, "ada: visit 2\n", "{shape:?}");
        assert_removal_cookie(&send("POST", "/logout", None));
        assert_eq!(send("GET", "/", None).status, 401, "{shape:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The README's "Deploying to AWS Lambda": the scheduled function that prunes expired tombstones of a SQL
// revocation store (EventBridge Scheduler invokes it; Lambda freezes background tasks).
// Compiled here so that the snippet stays true; it needs a database, so it is never run.

#[allow(dead_code)]
mod prune {
    use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};
    use tower_sessions_core::ExpiredDeletion as _;
    use tower_sessions_sqlx_store::{PostgresStore, sqlx::PgPool};

    pub(crate) async fn main() -> Result<(), Error> {
        let pool = PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
        let store = PostgresStore::new(pool);
        lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
            let store = store.clone();
            async move { store.delete_expired().await.map_err(Error::from) }
        }))
        .await
    }
}
