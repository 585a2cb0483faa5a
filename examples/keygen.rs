//! Prints one fresh session key for `KeyRing::from_env`.
//!
//! ```text
//! cargo run --example keygen          # unpadded URL-safe base64 (43 characters)
//! cargo run --example keygen -- --hex # the same kind of key as 64 hex digits
//! ```
//!
//! The key is the only thing written to standard output, on one line, so it can be captured
//! directly (`SESSION_KEYS=$(cargo run -q --example keygen)`); a short hint on how to use it
//! goes to standard error. Treat the output as the secret it is.

use std::io::Write as _;
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tower_sessions_sealed::Key;
use zeroize::Zeroizing;

const USAGE: &str = "usage: cargo run --example keygen [-- --hex]";

fn main() -> ExitCode {
    let mut as_hex = false;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--hex") => as_hex = true,
            Some("-h" | "--help") => {
                eprintln!("Prints a fresh session key on stdout.\n{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("keygen: unexpected argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let base64 = Key::generate().to_base64();
    let line = if as_hex {
        match URL_SAFE_NO_PAD.decode(base64.as_bytes()) {
            Ok(bytes) => Zeroizing::new(hex::encode(Zeroizing::new(bytes).as_slice())),
            Err(_) => {
                eprintln!("keygen: could not decode the generated key");
                return ExitCode::FAILURE;
            }
        }
    } else {
        base64
    };

    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{}", line.as_str())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("keygen: could not write the key to stdout");
        return ExitCode::FAILURE;
    }

    eprintln!(
        "Use it as the key ring of every instance:\n  \
         SESSION_KEYS=<key>\n\
         To rotate, prepend the new key: SESSION_KEYS=<new>,<old>\n\
         (with several instances, first deploy SESSION_KEYS=<old>,<new> everywhere; drop \
         <old> once the longest session has expired)"
    );
    ExitCode::SUCCESS
}
