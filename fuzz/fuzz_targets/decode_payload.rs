//! Decodes an arbitrary (as if authenticated) plaintext payload through the `cfg(fuzzing)`
//! hook behind the AEAD, as each format version (1 to 4).
//!
//! Nothing may panic. Whatever decodes must encode again, decode to an equal record, and
//! encode to the same bytes the second time (the encoding is canonical); sealed, it must
//! open to the same record (nothing decodable is refused by the sealing side, apart from
//! the cookie size cap).
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::PrimitiveDateTime;
use tower_sessions_sealed::ErrorKind;
use tower_sessions_sealed::fuzzing::{
    decode_payload, decode_payload_v2, encode_payload, encode_payload_v2,
};
use tower_sessions_sealed_fuzz::{COOKIE_NAME, ring};

fuzz_target!(|data: &[u8]| {
    for version in [1, 3] {
        version_1(version, data);
    }
    for version in [2, 4] {
        version_2(version, data);
    }
});

/// Format version 1 (3: with unsigned arrays): decoded, encoded, decoded again, sealed.
fn version_1(version: u8, data: &[u8]) {
    let Some(record) = decode_payload(version, data) else {
        return;
    };
    let (written, encoded) = encode_payload(&record).expect("a decoded record encodes");
    let again = decode_payload(written, &encoded).expect("an encoded record decodes");
    assert!(
        again == record,
        "decode → encode → decode changed the record"
    );
    let (_, reencoded) = encode_payload(&again).expect("a decoded record encodes");
    assert_eq!(reencoded, encoded, "encoding is not canonical");

    match ring().dangerous_seal_with_nonce(COOKIE_NAME, &record, [7; 24]) {
        Ok(value) => {
            let min = PrimitiveDateTime::MIN.assume_utc();
            if record.record.expiry_date > min {
                let opened = ring()
                    .open_at(COOKIE_NAME, &value, min)
                    .expect("a sealed record opens before its expiry");
                assert!(opened == record, "seal → open changed the record");
            }
        }
        Err(err) => assert!(
            matches!(err.kind(), ErrorKind::CookieTooLarge { .. }),
            "sealing a decoded record failed: {err}"
        ),
    }
}

/// The same properties for format version 2, whose extra fields (creation nanoseconds, last
/// check) must survive every step.
fn version_2(version: u8, data: &[u8]) {
    let Some((record, fields)) = decode_payload_v2(version, data) else {
        return;
    };
    let (written, encoded) =
        encode_payload_v2(&record, fields).expect("a decoded v2 record encodes");
    let (again, fields_again) =
        decode_payload_v2(written, &encoded).expect("an encoded v2 record decodes");
    assert!(again == record && fields_again == fields, "v2 round trip changed the record");
    assert_eq!(
        encode_payload_v2(&again, fields_again).expect("encodes").1,
        encoded,
        "v2 encoding is not canonical"
    );
    let (checked, stored) = fields;
    if stored {
        assert!(record.record.data.is_empty(), "a stored session carries no data");
        return;
    }
    match ring().dangerous_seal_revocation_with_nonce(COOKIE_NAME, &record, checked, [7; 24]) {
        Ok(value) => {
            let min = PrimitiveDateTime::MIN.assume_utc();
            if record.record.expiry_date > min {
                let opened = ring()
                    .open_at(COOKIE_NAME, &value, min)
                    .expect("a sealed v2 record opens before its expiry");
                assert!(opened == record, "v2 seal → open changed the record");
            }
        }
        Err(err) => assert!(
            matches!(err.kind(), ErrorKind::CookieTooLarge { .. }),
            "sealing a decoded v2 record failed: {err}"
        ),
    }
}
