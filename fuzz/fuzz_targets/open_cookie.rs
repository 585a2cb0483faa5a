//! Opens an arbitrary cookie value with the fixture ring.
//!
//! The input is tried twice, under the session cookie name and another one: as a (lossy
//! UTF-8) cookie value, and base64url-encoded, so that mutations of raw envelopes reach the
//! version, key-id and AEAD checks. Nothing may panic, and nothing may open except a fixture
//! cookie, byte for byte, carrying its fixture's record; whatever opens must re-seal and
//! open to the same record.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tower_sessions_sealed_fuzz::{COOKIE_NAME, OTHER_NAME, fixtures, now, ring};

fn check(value: &str) {
    let now = now();
    for name in [COOKIE_NAME, OTHER_NAME] {
        let Some(opened) = ring().open_at(name, value, now) else {
            continue;
        };
        let fixture = fixtures()
            .iter()
            .find(|f| f.value == value)
            .unwrap_or_else(|| panic!("a non-fixture value opened as {name:?}: {value:?}"));
        assert!(fixture.opens(name, now), "fixture opened where it must not");
        assert!(
            opened == fixture.sealed,
            "opened record differs from the fixture"
        );
        let resealed = ring()
            .seal(name, &opened)
            .expect("an opened record re-seals");
        let reopened = ring()
            .open_at(name, &resealed, now)
            .expect("a re-sealed record opens");
        assert!(reopened == opened, "re-sealed record differs");
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&URL_SAFE_NO_PAD.encode(data));
});
