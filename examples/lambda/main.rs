//! The login demo as an AWS Lambda function: stateless, encrypted cookie sessions behind
//! API Gateway (HTTP API or REST API), a Lambda Function URL or an Application Load
//! Balancer, through `lambda_http` 1.3.
//!
//! ```text
//! cargo build --release --example lambda      # target/release/examples/lambda
//! cargo run -q --example keygen               # a key for SESSION_KEYS (a secret)
//! ```
//!
//! Deploy the binary as `bootstrap` on the `provided.al2023` runtime with `SESSION_KEYS` in
//! the function's environment (from a secret); the README's "Deploying to AWS Lambda" has the commands, the
//! triggers that work and their cookie limits. Every instance, cold or warm, shares the
//! sessions through that one variable: nothing is kept in the function, and nothing runs
//! between invocations (no background task; Lambda freezes the process then).
//!
//! Routes (plain text answers, as in `app.rs`): `POST /login` with form fields `username`
//! and `password` (`ada` / `lovelace` or `grace` / `hopper`), `GET /` (the visit counter),
//! `POST /logout`.
//!
//! ```text
//! curl -si -c jar -b jar -d 'username=ada&password=lovelace' "$URL/login"
//! curl -si -c jar -b jar "$URL/"          # ada: visit 1, then 2, ...
//! curl -si -c jar -b jar -X POST "$URL/logout"
//! ```
//!
//! `lambda_http::run` needs the Lambda runtime API (`AWS_LAMBDA_RUNTIME_API` and the other
//! variables Lambda sets), so this binary only runs inside Lambda or an emulator such as
//! `cargo lambda watch`; `tests/lambda.rs` drives `app.rs` with event JSON instead.

mod app;

use tower_sessions_sealed::KeyRing;
use tracing_subscriber::EnvFilter;

/// The environment variable holding the key ring (`newest,older,...`).
const KEYS_VAR: &str = "SESSION_KEYS";

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // CloudWatch stamps each line itself; `RUST_LOG` overrides the level.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .without_time()
        .init();

    // Read once per cold start. A missing or malformed ring stops the function here, with
    // an error that names the variable and the entry but never a key.
    let keys = KeyRing::from_env(KEYS_VAR).inspect_err(|err| {
        tracing::error!(%err, "cannot start without the session key ring");
    })?;
    lambda_http::run(app::app(keys)).await
}
