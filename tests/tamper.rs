//! Tamper matrix for wire format v1: every way of altering a sealed cookie value that we can
//! enumerate must make [`KeyRing::open`] / [`KeyRing::open_at`] return `None`.
//!
//! Mutations are made on the decoded envelope bytes (`version | kid | nonce | ciphertext ‖
//! tag`) and re-encoded with unpadded base64url, so that they reach the envelope and AEAD
//! checks instead of stopping at the base64 decoder. Authentic-but-invalid plaintexts are
//! sealed with the RustCrypto reference AEAD and HKDF, following DESIGN §3 by hand.

// Tests unwrap freely: a panic is a test failure with a precise location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use serde_json::json;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{ErrorKind, Key, KeyRing, MAX_DEPTH, MAX_VALUE_LEN, SealedRecord};

const MASTER_A: [u8; 32] = [0xA1; 32];
const MASTER_B: [u8; 32] = [0xB2; 32];
const MASTER_C: [u8; 32] = [0xC3; 32];

const HEADER_LEN: usize = 1 + 4 + 24;
const TAG_LEN: usize = 16;

fn key(bytes: &[u8]) -> Key {
    Key::try_from(bytes).unwrap()
}

fn ring(masters: &[&[u8; 32]]) -> KeyRing {
    KeyRing::new(masters.iter().map(|m| key(&m[..])).collect()).unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// The "current time" of every `open_at` below.
const NOW: i64 = 1_764_028_800; // 2025-11-25T00:00:00Z
/// A far-future expiry, so that `open` (real clock) accepts it too.
const EXPIRES: i64 = 4_102_444_800; // 2100-01-01T00:00:00Z

fn now() -> OffsetDateTime {
    at(NOW)
}

fn record(data: serde_json::Value) -> SealedRecord {
    let serde_json::Value::Object(map) = data else {
        unreachable!("record data must be an object")
    };
    SealedRecord {
        record: Record {
            id: Id(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
            data: map.into_iter().collect::<HashMap<_, _>>(),
            expiry_date: at(EXPIRES),
        },
        created_at: at(NOW - 60),
    }
}

fn sample() -> SealedRecord {
    record(json!({"user": 42, "name": "Ada", "roles": ["admin"], "ratio": -0.5}))
}

fn decode(value: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value).unwrap()
}

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Asserts that `value` opens neither at [`NOW`] nor with the real clock.
#[track_caller]
fn assert_rejected(keys: &KeyRing, name: &str, value: &str, what: &str) {
    assert!(
        keys.open_at(name, value, now()).is_none(),
        "open_at accepted {what}"
    );
    assert!(keys.open(name, value).is_none(), "open accepted {what}");
}

/// A small deterministic generator (xorshift64*), so that "random" cases are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Reference implementation of the format (DESIGN §3), independent of the crate.

struct RefKey {
    aead: [u8; 32],
    kid: [u8; 4],
}

fn reference_key(master: &[u8]) -> RefKey {
    let hkdf = Hkdf::<Sha256>::new(Some(b"tower-sessions-sealed v1"), master);
    let mut aead = [0u8; 32];
    hkdf.expand(b"seal", &mut aead).unwrap();
    let mut kid = [0u8; 4];
    hkdf.expand(b"kid", &mut kid).unwrap();
    RefKey { aead, kid }
}

/// `base64url_nopad(version | kid | nonce | XChaCha20Poly1305(plaintext))` with
/// `AAD = version | kid | name`, all chosen by the caller.
fn reference_seal_raw(
    aead_key: &[u8; 32],
    version: u8,
    kid: [u8; 4],
    nonce: [u8; 24],
    name: &str,
    plaintext: &[u8],
) -> String {
    let mut envelope = vec![version];
    envelope.extend_from_slice(&kid);
    let aad_len = envelope.len();
    envelope.extend_from_slice(&nonce);
    let mut aad = envelope[..aad_len].to_vec();
    aad.extend_from_slice(name.as_bytes());
    let sealed = XChaCha20Poly1305::new(&(*aead_key).into())
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .unwrap();
    envelope.extend_from_slice(&sealed);
    encode(&envelope)
}

/// Seals `plaintext` exactly as the crate would, for `master`'s key.
fn reference_seal(master: &[u8], name: &str, plaintext: &[u8]) -> String {
    let key = reference_key(master);
    let nonce: [u8; 24] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5A);
    reference_seal_raw(&key.aead, 0x01, key.kid, nonce, name, plaintext)
}

fn reference_open(master: &[u8], name: &str, value: &str) -> Vec<u8> {
    let key = reference_key(master);
    let envelope = decode(value);
    let mut aad = envelope[..5].to_vec();
    aad.extend_from_slice(name.as_bytes());
    let nonce: [u8; 24] = envelope[5..HEADER_LEN].try_into().unwrap();
    XChaCha20Poly1305::new(&key.aead.into())
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &envelope[HEADER_LEN..],
                aad: &aad,
            },
        )
        .unwrap()
}

// Hand encoder for the plaintext (the `src/format/payload.rs` module docs), to build invalid payloads.

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A plaintext with the given header fields and `(key, encoded value)` entries, in order.
fn payload(id: i128, expires: i64, created: i64, entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = id.to_le_bytes().to_vec();
    varint(&mut out, zigzag(expires));
    varint(&mut out, zigzag(created));
    varint(&mut out, entries.len() as u64);
    for (key, value) in entries {
        string(&mut out, key);
        out.extend_from_slice(value);
    }
    out
}

/// `depth` nested one-element arrays (tag 6) around `null`.
fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..depth {
        out.extend_from_slice(&[6, 1]);
    }
    out.push(0);
    out
}

/// `depth` nested one-entry objects (tag 7, key "k") around `null`.
fn nested_objects(depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..depth {
        out.extend_from_slice(&[7, 1]);
        string(&mut out, "k");
    }
    out.push(0);
    out
}

fn f64_value(f: f64) -> Vec<u8> {
    let mut out = vec![4];
    out.extend_from_slice(&f.to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------
// The harness itself

#[test]
fn untampered_values_open() {
    let keys = ring(&[&MASTER_A]);
    let value = keys.seal("id", &sample()).unwrap();
    assert_eq!(keys.open_at("id", &value, now()), Some(sample()));
    assert_eq!(keys.open("id", &value), Some(sample()));
    // Round trip through the helpers used by every test below.
    assert_eq!(encode(&decode(&value)), value);
}

#[test]
fn reference_sealed_payloads_open() {
    let keys = ring(&[&MASTER_A]);
    // A plaintext recovered from the crate, re-sealed by the reference path.
    let value = keys.seal("id", &sample()).unwrap();
    let plaintext = reference_open(&MASTER_A, "id", &value);
    let resealed = reference_seal(&MASTER_A, "id", &plaintext);
    assert_ne!(resealed, value, "different nonce");
    assert_eq!(keys.open_at("id", &resealed, now()), Some(sample()));

    // A plaintext built by the hand encoder opens to the record it describes, so the
    // invalid payloads below differ from valid ones only where intended.
    let hand = payload(
        -7,
        EXPIRES,
        NOW - 60,
        &[
            ("a", vec![0]),    // null
            ("b", vec![1, 1]), // true
            ("c", {
                let mut v = vec![2];
                varint(&mut v, u64::MAX);
                v
            }),
            ("d", {
                let mut v = vec![3];
                varint(&mut v, zigzag(i64::MIN));
                v
            }),
            ("e", f64_value(-0.5)),
            ("f", {
                let mut v = vec![5];
                string(&mut v, "héllo");
                v
            }),
            ("g", nested_arrays(MAX_DEPTH)),
            ("h", nested_objects(MAX_DEPTH)),
        ],
    );
    let opened = keys
        .open_at("id", &reference_seal(&MASTER_A, "id", &hand), now())
        .expect("a hand-built payload at the depth limit opens");
    let nest = |wrap: fn(serde_json::Value) -> serde_json::Value| {
        (0..MAX_DEPTH).fold(serde_json::Value::Null, |v, _| wrap(v))
    };
    let mut expected = record(json!({
        "a": null, "b": true, "c": u64::MAX, "d": i64::MIN, "e": -0.5, "f": "héllo",
        "g": nest(|v| json!([v])),
        "h": nest(|v| json!({"k": v})),
    }));
    expected.record.id = Id(-7);
    assert_eq!(opened, expected);
}

// ---------------------------------------------------------------------------------------
// Envelope mutations

#[test]
fn every_single_bit_flip_is_rejected() {
    let keys = ring(&[&MASTER_A, &MASTER_B]);
    for record in [record(json!({})), sample()] {
        let value = keys.seal("id", &record).unwrap();
        let envelope = decode(&value);
        assert!(envelope.len() > HEADER_LEN + TAG_LEN);
        for index in 0..envelope.len() {
            for bit in 0..8 {
                let mut bytes = envelope.clone();
                bytes[index] ^= 1 << bit;
                let region = match index {
                    0 => "version",
                    1..5 => "kid",
                    5..HEADER_LEN => "nonce",
                    i if i >= envelope.len() - TAG_LEN => "tag",
                    _ => "ciphertext",
                };
                assert_rejected(
                    &keys,
                    "id",
                    &encode(&bytes),
                    &format!("{region} byte {index} with bit {bit} flipped"),
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let keys = ring(&[&MASTER_A]);
    let value = keys.seal("id", &sample()).unwrap();
    let envelope = decode(&value);
    for len in 0..envelope.len() {
        assert_rejected(
            &keys,
            "id",
            &encode(&envelope[..len]),
            &format!("envelope truncated to {len} bytes"),
        );
    }
    // Truncating the text (which may leave a non-canonical tail) is rejected too.
    for len in 0..value.len() {
        assert_rejected(
            &keys,
            "id",
            &value[..len],
            &format!("text truncated to {len}"),
        );
    }
}

#[test]
fn appended_bytes_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    let value = keys.seal("id", &sample()).unwrap();
    let envelope = decode(&value);
    let tag = envelope[envelope.len() - TAG_LEN..].to_vec();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for byte in [0x00, 0x01, 0x80, 0xff] {
        cases.push((format!("1 byte {byte:#04x}"), vec![byte]));
    }
    cases.push(("16 zero bytes".into(), vec![0; 16]));
    cases.push(("16 random bytes".into(), Rng(7).bytes(16)));
    cases.push(("a second copy of the tag".into(), tag));
    for (what, extra) in cases {
        let mut bytes = envelope.clone();
        bytes.extend_from_slice(&extra);
        assert_rejected(&keys, "id", &encode(&bytes), &format!("appended {what}"));
        // And in front, shifting the whole layout.
        let mut bytes = extra.clone();
        bytes.extend_from_slice(&envelope);
        assert_rejected(&keys, "id", &encode(&bytes), &format!("prepended {what}"));
    }
}

#[test]
fn unknown_versions_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    let value = keys.seal("id", &sample()).unwrap();
    let envelope = decode(&value);
    assert_eq!(envelope[0], 0x01);
    let reference = reference_key(&MASTER_A);
    let plaintext = reference_open(&MASTER_A, "id", &value);
    for version in [0x00, 0x02, 0x80, 0xff] {
        let mut bytes = envelope.clone();
        bytes[0] = version;
        assert_rejected(
            &keys,
            "id",
            &encode(&bytes),
            &format!("version {version:#04x}"),
        );
        // Even when the tag is valid for that version byte (authenticated in the AAD),
        // an unknown version is refused before the AEAD.
        let authentic = reference_seal_raw(
            &reference.aead,
            version,
            reference.kid,
            [9; 24],
            "id",
            &plaintext,
        );
        assert_rejected(
            &keys,
            "id",
            &authentic,
            &format!("authentic envelope with version {version:#04x}"),
        );
    }
    // The same construction with version 0x01 does open: only the version differed.
    let authentic = reference_seal_raw(
        &reference.aead,
        0x01,
        reference.kid,
        [9; 24],
        "id",
        &plaintext,
    );
    assert_eq!(keys.open_at("id", &authentic, now()), Some(sample()));
}

#[test]
fn replaced_kids_are_rejected() {
    let keys = ring(&[&MASTER_A, &MASTER_B]);
    let kids: Vec<[u8; 4]> = keys.key_ids().collect();
    assert_eq!(kids[0], reference_key(&MASTER_A).kid);
    assert_eq!(kids[1], reference_key(&MASTER_B).kid);

    let value = keys.seal("id", &sample()).unwrap();
    let envelope = decode(&value);
    assert_eq!(envelope[1..5], kids[0], "sealed under the first key");

    // The kid of the other ring key: that key is found, and the AEAD refuses.
    let mut bytes = envelope.clone();
    bytes[1..5].copy_from_slice(&kids[1]);
    assert_rejected(&keys, "id", &encode(&bytes), "kid of the second ring key");

    // Same, with a tag made under A's AEAD key but with B's kid in the AAD.
    let a = reference_key(&MASTER_A);
    let plaintext = reference_open(&MASTER_A, "id", &value);
    let forged = reference_seal_raw(&a.aead, 0x01, kids[1], [3; 24], "id", &plaintext);
    assert_rejected(&keys, "id", &forged, "A's ciphertext labelled with B's kid");

    // Kids of no ring key.
    let mut rng = Rng(0x1234_5678);
    let mut random_kids: Vec<[u8; 4]> = vec![[0; 4], [0xff; 4], reference_key(&MASTER_C).kid];
    random_kids.extend((0..64).map(|_| (rng.next() as u32).to_le_bytes()));
    for kid in random_kids {
        if kids.contains(&kid) {
            continue;
        }
        let mut bytes = envelope.clone();
        bytes[1..5].copy_from_slice(&kid);
        assert_rejected(&keys, "id", &encode(&bytes), &format!("kid {kid:02x?}"));
    }
}

#[test]
fn other_cookie_names_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    let value = keys.seal("id", &sample()).unwrap();
    assert!(keys.open_at("id", &value, now()).is_some());
    for name in ["id2", "ID", "", "id ", " id", "i", "id\0", "__Host-id"] {
        assert_rejected(
            &keys,
            name,
            &value,
            &format!("value sealed for \"id\" opened as {name:?}"),
        );
    }
    // And the other way round: sealed under the empty name, opened as "id".
    let empty = keys.seal("", &sample()).unwrap();
    assert!(keys.open_at("", &empty, now()).is_some());
    assert_rejected(
        &keys,
        "id",
        &empty,
        "value sealed for \"\" opened as \"id\"",
    );
    // Long names (longer than any stack buffer for the AAD) are bound as well.
    let long = "n".repeat(300);
    let sealed_long = keys.seal(&long, &sample()).unwrap();
    assert!(keys.open_at(&long, &sealed_long, now()).is_some());
    assert_rejected(
        &keys,
        &"n".repeat(299),
        &sealed_long,
        "long name minus one char",
    );
    assert_rejected(
        &keys,
        &format!("{long}n"),
        &sealed_long,
        "long name plus one char",
    );
}

#[test]
fn key_swaps_and_rotation() {
    let a = ring(&[&MASTER_A]);
    let value = a.seal("id", &sample()).unwrap();

    // Another ring entirely.
    assert_rejected(&ring(&[&MASTER_B]), "id", &value, "a ring of another key");
    assert_rejected(
        &ring(&[&MASTER_B, &MASTER_C]),
        "id",
        &value,
        "a ring lacking the key",
    );

    // The right key in second position: rotation, so it opens.
    let rotated = ring(&[&MASTER_B, &MASTER_A]);
    assert_eq!(rotated.open_at("id", &value, now()), Some(sample()));
    assert_eq!(rotated.open("id", &value), Some(sample()));
    let third = ring(&[&MASTER_C, &MASTER_B, &MASTER_A]);
    assert_eq!(third.open_at("id", &value, now()), Some(sample()));

    // And a value the rotated ring seals is under its first key, which `a` lacks.
    let resealed = rotated.seal("id", &sample()).unwrap();
    assert_eq!(decode(&resealed)[1..5], reference_key(&MASTER_B).kid);
    assert_rejected(
        &a,
        "id",
        &resealed,
        "value sealed under B opened by ring [A]",
    );
}

// ---------------------------------------------------------------------------------------
// Length cap and text-level garbage

/// A record whose sealed value is exactly [`MAX_VALUE_LEN`] characters.
fn record_of_max_len(keys: &KeyRing) -> (SealedRecord, String) {
    for n in 2900..3100 {
        let rec = record(json!({ "s": "x".repeat(n) }));
        match keys.seal("id", &rec) {
            Ok(value) if value.len() == MAX_VALUE_LEN => return (rec, value),
            Ok(value) => assert!(value.len() < MAX_VALUE_LEN),
            Err(err) => {
                assert!(matches!(
                    err.kind(),
                    ErrorKind::CookieTooLarge { size, limit: MAX_VALUE_LEN } if size > MAX_VALUE_LEN
                ));
            }
        }
    }
    panic!("no string length seals to exactly MAX_VALUE_LEN characters");
}

#[test]
fn values_over_the_length_cap_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    // The boundary itself is accepted.
    let (rec, max) = record_of_max_len(&keys);
    assert_eq!(keys.open_at("id", &max, now()), Some(rec.clone()));

    // One more byte of data cannot be sealed at all.
    let mut bigger = rec.clone();
    bigger.record.data.insert(
        "s".into(),
        json!(format!("{}x", rec.record.data["s"].as_str().unwrap())),
    );
    let err = keys.seal("id", &bigger).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::CookieTooLarge {
            limit: MAX_VALUE_LEN,
            ..
        }
    ));

    // A valid value padded past the cap with 'A's (valid base64url characters).
    let small = keys.seal("id", &sample()).unwrap();
    for len in [MAX_VALUE_LEN + 1, MAX_VALUE_LEN + 4, 2 * MAX_VALUE_LEN] {
        let padded = format!("{small}{}", "A".repeat(len - small.len()));
        assert_eq!(padded.len(), len);
        assert_rejected(
            &keys,
            "id",
            &padded,
            &format!("valid prefix padded to {len}"),
        );
    }
    // The maximal valid value with more characters after it.
    for extra in ["A", "AA", "AAA", "AAAA"] {
        assert_rejected(
            &keys,
            "id",
            &format!("{max}{extra}"),
            "max-length value plus 'A's",
        );
    }
    // 1 MB of 'A'.
    assert_rejected(&keys, "id", &"A".repeat(1 << 20), "1 MB of 'A'");
}

#[test]
fn non_base64url_text_is_rejected() {
    let keys = ring(&[&MASTER_A]);
    // A value whose encoding uses both URL-safe characters and has a non-zero remainder,
    // so that every case below changes something meaningful.
    let (value, envelope) = (0..1000)
        .map(|n| {
            let v = keys
                .seal("id", &record(json!({ "s": "y".repeat(n) })))
                .unwrap();
            let e = decode(&v);
            (v, e)
        })
        .find(|(v, e)| v.contains('-') && v.contains('_') && e.len() % 3 == 1)
        .expect("some nonce gives both '-' and '_'");
    assert!(keys.open_at("id", &value, now()).is_some());

    let mut cases: Vec<(String, String)> = vec![
        ("empty string".into(), String::new()),
        ("padded url-safe".into(), URL_SAFE.encode(&envelope)),
        ("padded standard".into(), STANDARD.encode(&envelope)),
        (
            "unpadded standard".into(),
            STANDARD_NO_PAD.encode(&envelope),
        ),
        ("one '='".into(), format!("{value}=")),
        ("two '='".into(), format!("{value}==")),
        ("'-' as '+'".into(), value.replacen('-', "+", 1)),
        ("'_' as '/'".into(), value.replacen('_', "/", 1)),
        ("leading space".into(), format!(" {value}")),
        ("trailing space".into(), format!("{value} ")),
        ("trailing newline".into(), format!("{value}\n")),
        (
            "inner space".into(),
            format!("{} {}", &value[..20], &value[20..]),
        ),
        ("quoted".into(), format!("\"{value}\"")),
        (
            "non-ASCII char".into(),
            format!("{}é{}", &value[..20], &value[21..]),
        ),
        ("appended non-ASCII".into(), format!("{value}ß")),
        (
            "NUL byte".into(),
            format!("{}\0{}", &value[..20], &value[21..]),
        ),
        ("all spaces".into(), " ".repeat(value.len())),
        ("only '='".into(), "=".repeat(value.len())),
        ("emoji".into(), "🍪".repeat(value.len() / 4)),
    ];
    // The same bytes with non-zero unused bits in the last character: a second spelling of
    // one envelope is not accepted.
    let last = value.chars().last().unwrap();
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextet = ALPHABET.find(last).unwrap();
    let other = ALPHABET.as_bytes()[sextet ^ 1] as char;
    cases.push((
        "non-canonical trailing bits".into(),
        format!("{}{other}", &value[..value.len() - 1]),
    ));
    for (what, text) in cases {
        assert_ne!(text, value);
        assert_rejected(&keys, "id", &text, &what);
    }
}

// ---------------------------------------------------------------------------------------
// Authentic ciphertexts whose plaintext is not a valid payload

#[test]
fn authentic_garbage_payloads_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    let valid = reference_open(&MASTER_A, "id", &keys.seal("id", &sample()).unwrap());
    let header = |expires: i64, created: i64| payload(1, expires, created, &[]);

    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty plaintext".into(), Vec::new()),
        ("one zero byte".into(), vec![0]),
        ("the id only".into(), 1i128.to_le_bytes().to_vec()),
        (
            "valid payload minus its last byte".into(),
            valid[..valid.len() - 1].to_vec(),
        ),
        (
            "valid payload plus a zero byte".into(),
            [&valid[..], &[0]].concat(),
        ),
        (
            "valid payload plus 0xff".into(),
            [&valid[..], &[0xff]].concat(),
        ),
        (
            "valid payload twice".into(),
            [&valid[..], &valid[..]].concat(),
        ),
        (
            "value tag 8".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![8])]),
        ),
        (
            "value tag 9".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![9])]),
        ),
        (
            "value tag 0xff varint".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![0xff, 0x01])]),
        ),
        (
            "arrays nested 65 deep".into(),
            payload(1, EXPIRES, NOW, &[("k", nested_arrays(MAX_DEPTH + 1))]),
        ),
        (
            "objects nested 65 deep".into(),
            payload(1, EXPIRES, NOW, &[("k", nested_objects(MAX_DEPTH + 1))]),
        ),
        (
            "arrays nested 10000 deep".into(),
            payload(1, EXPIRES, NOW, &[("k", nested_arrays(10_000))]),
        ),
        (
            "f64 NaN".into(),
            payload(1, EXPIRES, NOW, &[("k", f64_value(f64::NAN))]),
        ),
        (
            "f64 +inf".into(),
            payload(1, EXPIRES, NOW, &[("k", f64_value(f64::INFINITY))]),
        ),
        (
            "f64 -inf".into(),
            payload(1, EXPIRES, NOW, &[("k", f64_value(f64::NEG_INFINITY))]),
        ),
        (
            "f64 truncated".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![4, 0, 0, 0])]),
        ),
        (
            "bool byte 2".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![1, 2])]),
        ),
        (
            "non-negative i64 under tag 3".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![3, 2])]),
        ),
        (
            "string not UTF-8".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![5, 2, 0xc3, 0x28])]),
        ),
        (
            "string length past the end".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![5, 100, b'a'])]),
        ),
        (
            "duplicate data key".into(),
            payload(1, EXPIRES, NOW, &[("k", vec![0]), ("k", vec![0])]),
        ),
        (
            "duplicate object key".into(),
            payload(
                1,
                EXPIRES,
                NOW,
                &[("k", {
                    let mut v = vec![7, 2];
                    string(&mut v, "x");
                    v.push(0);
                    string(&mut v, "x");
                    v.push(0);
                    v
                })],
            ),
        ),
        ("expiry i64::MAX".into(), header(i64::MAX, NOW)),
        ("expiry i64::MIN".into(), header(i64::MIN, NOW)),
        // Just past the supported range of `time` (±9999 years) on either side.
        ("expiry year 10000".into(), header(253_402_300_800, NOW)),
        (
            "creation year 10000".into(),
            header(EXPIRES, 253_402_300_800),
        ),
        ("creation i64::MIN".into(), header(EXPIRES, i64::MIN)),
        (
            "creation year -10000".into(),
            header(EXPIRES, -377_705_116_801),
        ),
    ];
    {
        // An entry count that promises far more than is there.
        let mut lying = 1i128.to_le_bytes().to_vec();
        varint(&mut lying, zigzag(EXPIRES));
        varint(&mut lying, zigzag(NOW));
        varint(&mut lying, u64::from(u32::MAX));
        cases.push(("entry count 2^32-1 with no entries".into(), lying));
        // A varint longer than 10 bytes.
        let mut overlong = 1i128.to_le_bytes().to_vec();
        overlong.extend_from_slice(&[0x80; 11]);
        overlong.push(0);
        cases.push(("overlong varint".into(), overlong));
    }
    let mut rng = Rng(0xDEAD_BEEF);
    for len in [1, 15, 16, 17, 32, 64, 200, 1000] {
        cases.push((format!("{len} random bytes"), rng.bytes(len)));
    }

    for (what, plaintext) in cases {
        let value = reference_seal(&MASTER_A, "id", &plaintext);
        // The envelope itself is authentic: the reference opens it.
        assert_eq!(reference_open(&MASTER_A, "id", &value), plaintext);
        assert_rejected(&keys, "id", &value, &format!("authentic payload: {what}"));
    }

    // The near-miss twins of the cases above do open, so each rejection is for the reason
    // named and not an artefact of the hand encoder.
    for (what, plaintext) in [
        ("the valid payload", valid.clone()),
        ("expiry 9999-12-31T23:59:59", header(253_402_300_799, NOW)),
        ("creation -9999-01-01", header(EXPIRES, -377_705_116_800)),
        (
            "f64 max",
            payload(1, EXPIRES, NOW, &[("k", f64_value(f64::MAX))]),
        ),
        (
            "negative i64 under tag 3",
            payload(1, EXPIRES, NOW, &[("k", vec![3, 1])]),
        ),
        (
            "bool byte 1",
            payload(1, EXPIRES, NOW, &[("k", vec![1, 1])]),
        ),
        (
            "distinct object keys",
            payload(
                1,
                EXPIRES,
                NOW,
                &[("k", {
                    let mut v = vec![7, 2];
                    string(&mut v, "x");
                    v.push(0);
                    string(&mut v, "y");
                    v.push(0);
                    v
                })],
            ),
        ),
        (
            "arrays nested 64 deep",
            payload(1, EXPIRES, NOW, &[("k", nested_arrays(MAX_DEPTH))]),
        ),
    ] {
        let value = reference_seal(&MASTER_A, "id", &plaintext);
        assert!(
            keys.open_at("id", &value, now()).is_some(),
            "authentic payload should open: {what}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Expiry

#[test]
fn expired_records_are_rejected() {
    let keys = ring(&[&MASTER_A]);
    let mut rec = sample();
    rec.record.expiry_date = now() - Duration::seconds(1);
    rec.created_at = now() - Duration::hours(1);
    let value = keys.seal("id", &rec).unwrap();
    // Authentic, and opens as of before the expiry date...
    assert_eq!(
        keys.open_at("id", &value, now() - Duration::seconds(2)),
        Some(rec.clone())
    );
    // ...but not at or after it.
    assert!(
        keys.open_at("id", &value, now() - Duration::seconds(1))
            .is_none()
    );
    assert!(keys.open_at("id", &value, now()).is_none());
    assert!(
        keys.open_at("id", &value, now() + Duration::days(365))
            .is_none()
    );
    // With the real clock, a date in 2025 is long past.
    assert!(keys.open("id", &value).is_none());

    // Via the reference path: an expiry in the past, authentic.
    let plaintext = payload(1, NOW - 1, NOW - 3600, &[]);
    let value = reference_seal(&MASTER_A, "id", &plaintext);
    assert!(keys.open_at("id", &value, at(NOW - 2)).is_some());
    assert!(keys.open_at("id", &value, now()).is_none());
    // Expiry before the Unix epoch, valid for `time`, is simply expired.
    let ancient = reference_seal(&MASTER_A, "id", &payload(1, -1_000_000, -2_000_000, &[]));
    assert!(keys.open_at("id", &ancient, now()).is_none());
    assert!(keys.open_at("id", &ancient, at(-1_500_000)).is_some());
}
