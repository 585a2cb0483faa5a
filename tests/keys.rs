//! Keys and key rings through the public API: `Key::try_from`, `Debug` output, parsing a
//! key list (`str::parse` and `KeyRing::from_env`), its errors, and which key seals and
//! which keys open (DESIGN §4).
//!
//! `KeyRing::from_env` is exercised in a child process (this test binary, re-run with one
//! test selected), because setting a variable in this process needs `unsafe` in edition 2024
//! and the crate forbids it.

// Tests unwrap freely: a panic is a test failure with a precise location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use time::OffsetDateTime;
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{Key, KeyError, KeyRing, KeyRingError, SealedRecord};

/// 32 key bytes whose standard base64 has both '+' and '/', and whose URL-safe base64 has
/// both '-' and '_', so that the two alphabets really differ; padded encodings end in '='.
fn key_bytes() -> Vec<u8> {
    let mut bytes: Vec<u8> = [0xfb, 0xff, 0xbf].repeat(10);
    bytes.extend_from_slice(&[0x3e, 0x01]);
    bytes
}

fn other_bytes(fill: u8) -> Vec<u8> {
    (0..32u8).map(|i| i.wrapping_mul(73) ^ fill).collect()
}

fn ring_of(keys: &[&[u8]]) -> KeyRing {
    KeyRing::new(keys.iter().map(|k| Key::try_from(*k).unwrap()).collect()).unwrap()
}

fn kids(ring: &KeyRing) -> Vec<[u8; 4]> {
    ring.key_ids().collect()
}

/// The kid DESIGN §3 defines, computed independently of the crate.
fn reference_kid(master: &[u8]) -> [u8; 4] {
    let mut kid = [0u8; 4];
    Hkdf::<Sha256>::new(Some(b"tower-sessions-sealed v1"), master)
        .expand(b"kid", &mut kid)
        .unwrap();
    kid
}

fn reference_aead_key(master: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"tower-sessions-sealed v1"), master)
        .expand(b"seal", &mut key)
        .unwrap();
    key
}

/// Every textual rendering of `bytes` we can think of that a leak would show.
fn renderings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        format!("{bytes:?}"),
        format!("{bytes:x?}"),
        format!("{bytes:X?}"),
        format!("{bytes:#?}"),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        // A prefix is enough to be a leak.
        hex::encode(&bytes[..8]),
        format!("{:?}", &bytes[..8])
            .trim_end_matches(']')
            .to_owned(),
        URL_SAFE_NO_PAD.encode(&bytes[..6]),
        STANDARD.encode(&bytes[..6]),
    ]
}

#[track_caller]
fn assert_no_leak(text: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        for needle in renderings(secret) {
            assert!(!text.contains(&needle), "{needle:?} appears in {text:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Key

#[test]
fn key_try_from_checks_the_length() {
    for len in [0, 1, 16, 31] {
        let err = Key::try_from(&vec![7u8; len][..]).unwrap_err();
        assert_eq!(
            err,
            KeyError::TooShort {
                found: len,
                min: 32
            }
        );
        assert_eq!(
            err.to_string(),
            format!("key is {len} bytes; at least 32 are required")
        );
    }
    assert_eq!(Key::MIN_LEN, 32);
    for len in [32, 33, 64, 128] {
        let bytes = vec![7u8; len];
        let key = Key::try_from(&bytes[..]).unwrap();
        // The key is the whole input: longer keys are not truncated to 32 bytes.
        let ring = KeyRing::new(vec![key]).unwrap();
        assert_eq!(kids(&ring), [reference_kid(&bytes)], "len {len}");
    }
    let k32 = ring_of(&[&[7u8; 32]]);
    let k64 = ring_of(&[&[7u8; 64]]);
    assert_ne!(kids(&k32), kids(&k64));
}

#[test]
fn key_debug_shows_no_key_bytes() {
    let bytes = key_bytes();
    let key = Key::try_from(&bytes[..]).unwrap();
    assert_eq!(format!("{key:?}"), "Key { .. }");
    let all = format!("{key:?} {key:#?} {:?}", [&key]);
    assert_no_leak(&all, &[&bytes]);

    let generated = Key::generate();
    let text = generated.to_base64();
    let generated_bytes = URL_SAFE_NO_PAD.decode(text.as_bytes()).unwrap();
    assert_eq!(generated_bytes.len(), 32);
    assert_eq!(format!("{generated:?}"), "Key { .. }");
    assert_no_leak(&format!("{generated:#?}"), &[&generated_bytes]);
}

#[test]
fn generated_keys_are_fresh_and_parse_back() {
    let a = Key::generate();
    let b = Key::generate();
    let (ta, tb) = (a.to_base64(), b.to_base64());
    assert_ne!(*ta, *tb);
    assert_eq!(ta.len(), 43);
    assert!(
        ta.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    let bytes = URL_SAFE_NO_PAD.decode(ta.as_bytes()).unwrap();
    let parsed: KeyRing = ta.parse().unwrap();
    assert_eq!(kids(&parsed), [reference_kid(&bytes)]);
    assert_eq!(kids(&KeyRing::new(vec![a]).unwrap()), kids(&parsed));

    let g1 = KeyRing::generate();
    let g2 = KeyRing::generate();
    assert_eq!(g1.len(), 1);
    assert!(!g1.is_empty());
    assert_ne!(kids(&g1), kids(&g2));
}

#[test]
fn key_ring_debug_shows_no_key_bytes() {
    let a = key_bytes();
    let b = other_bytes(0x11);
    let ring = ring_of(&[&a, &b]);
    let debug = format!("{ring:?} {ring:#?}");
    assert!(debug.contains("KeyRing"), "{debug}");
    // Neither the master keys nor the derived AEAD keys.
    assert_no_leak(
        &debug,
        &[&a, &b, &reference_aead_key(&a), &reference_aead_key(&b)],
    );
}

#[test]
fn key_ring_new_rejects_empty_and_duplicates() {
    let err = KeyRing::new(Vec::new()).unwrap_err();
    assert!(matches!(err, KeyRingError::Empty { .. }), "{err:?}");
    let a = || Key::try_from(&key_bytes()[..]).unwrap();
    let b = || Key::try_from(&other_bytes(1)[..]).unwrap();
    let err = KeyRing::new(vec![a(), b(), a()]).unwrap_err();
    assert!(
        matches!(
            err,
            KeyRingError::Duplicate {
                position: 3,
                first: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let ring = KeyRing::new(vec![a(), b()]).unwrap();
    assert_eq!(ring.len(), 2);
    assert_eq!(
        kids(&ring),
        [reference_kid(&key_bytes()), reference_kid(&other_bytes(1))]
    );
}

// ---------------------------------------------------------------------------------------
// Parsing a key list

/// Every accepted spelling of `bytes`.
fn spellings(bytes: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("standard padded", STANDARD.encode(bytes)),
        ("standard unpadded", STANDARD_NO_PAD.encode(bytes)),
        ("url-safe padded", URL_SAFE.encode(bytes)),
        ("url-safe unpadded", URL_SAFE_NO_PAD.encode(bytes)),
        ("lower hex", hex::encode(bytes)),
        ("upper hex", hex::encode_upper(bytes)),
    ]
}

#[test]
fn every_encoding_of_a_key_parses_to_the_same_key() {
    let bytes = key_bytes();
    let spelled = spellings(&bytes);
    // The spellings really differ in the ways the parser must handle.
    assert!(
        spelled[0].1.contains('+') && spelled[0].1.contains('/') && spelled[0].1.ends_with('=')
    );
    assert!(spelled[3].1.contains('-') && spelled[3].1.contains('_'));
    assert!(!spelled[1].1.ends_with('=') && !spelled[3].1.ends_with('='));
    assert_ne!(spelled[4].1, spelled[5].1);

    let expected = [reference_kid(&bytes)];
    for (what, text) in &spelled {
        let ring: KeyRing = text.parse().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(kids(&ring), expected, "{what}");
        // Whitespace around the entry is ignored.
        let ring: KeyRing = format!(" \t{text}\n ").parse().unwrap();
        assert_eq!(kids(&ring), expected, "{what} with whitespace");
    }
}

#[test]
fn even_length_hex_is_read_as_hex() {
    // 64 hex digits are also valid base64 (of 48 bytes): hex wins, as documented.
    let bytes = other_bytes(0x22);
    let text = hex::encode(&bytes);
    assert!(STANDARD_NO_PAD.decode(&text).is_ok());
    let ring: KeyRing = text.parse().unwrap();
    assert_eq!(kids(&ring), [reference_kid(&bytes)]);
}

#[test]
fn lists_of_two_and_three_keys_keep_their_order() {
    let (a, b, c) = (key_bytes(), other_bytes(0x33), other_bytes(0x44));
    let two: KeyRing = format!("{},{}", URL_SAFE_NO_PAD.encode(&a), hex::encode(&b))
        .parse()
        .unwrap();
    assert_eq!(kids(&two), [reference_kid(&a), reference_kid(&b)]);

    let three: KeyRing = format!(
        "  {} ,\t{}\n,{}  ",
        STANDARD.encode(&c),
        hex::encode_upper(&a),
        URL_SAFE.encode(&b)
    )
    .parse()
    .unwrap();
    assert_eq!(three.len(), 3);
    assert_eq!(
        kids(&three),
        [reference_kid(&c), reference_kid(&a), reference_kid(&b)]
    );
}

/// Checks what every parse error's message promises: the source, the position, no entry
/// text.
#[track_caller]
fn assert_message(err: &KeyRingError, position: Option<usize>, entries: &[&str]) {
    let message = err.to_string();
    assert!(message.starts_with("key list: "), "{message}");
    if let Some(position) = position {
        assert!(message.contains(&format!("entry {position}")), "{message}");
    }
    let debug = format!("{err:?}");
    for entry in entries {
        let entry = entry.trim();
        if entry.len() >= 4 {
            assert!(!message.contains(entry), "entry text in {message:?}");
            assert!(!debug.contains(entry), "entry text in {debug:?}");
            // Nor any recognisable part of it.
            let prefix: String = entry.chars().take(4).collect();
            assert!(!message.contains(&prefix), "entry prefix in {message:?}");
        }
    }
}

#[test]
fn empty_lists_are_rejected() {
    for text in ["", " ", "\t\n  \r\n"] {
        let err = text.parse::<KeyRing>().unwrap_err();
        assert_eq!(
            err,
            KeyRingError::Empty {
                source: "key list".into()
            },
            "{text:?}"
        );
        assert_message(&err, None, &[]);
    }
}

#[test]
fn empty_entries_are_rejected_with_their_position() {
    let k = URL_SAFE_NO_PAD.encode(key_bytes());
    let k2 = hex::encode(other_bytes(5));
    for (text, position) in [
        (format!("{k},"), 2),
        (format!("{k}, "), 2),
        (",,".to_owned(), 1),
        (format!(",{k}"), 1),
        (format!("{k},,{k2}"), 2),
        (format!("{k}, \t ,{k2}"), 2),
        (format!("{k},{k2},"), 3),
    ] {
        let err = text.parse::<KeyRing>().unwrap_err();
        assert_eq!(
            err,
            KeyRingError::EmptyEntry {
                source: "key list".into(),
                position
            },
            "{text:?}"
        );
        assert_message(&err, Some(position), &[&k, &k2]);
    }
}

#[test]
fn undecodable_entries_are_rejected_with_position_and_length() {
    let k = URL_SAFE_NO_PAD.encode(key_bytes());
    let mixed = "ab-+cdefghijklmnopqrstuvwxyz0123456789ABCDEFG"; // both alphabets
    for (text, position, bad) in [
        ("not*base64*at*all".to_owned(), 1, "not*base64*at*all"),
        (
            format!("{k},secret key with spaces"),
            2,
            "secret key with spaces",
        ),
        (format!("{k},{mixed}"), 2, mixed),
        (format!("{k},{k},ключключ"), 3, "ключключ"),
        (format!("{k},abcde"), 2, "abcde"), // 5 chars: impossible base64 length
        (format!("{k},QUJD=EFG"), 2, "QUJD=EFG"), // padding in the middle
    ] {
        let err = text.parse::<KeyRing>().unwrap_err();
        // Positions are checked in order, so an undecodable entry is reported even when
        // an earlier entry repeats another.
        let expected_position = position;
        match &err {
            KeyRingError::Undecodable {
                source,
                position,
                chars,
            } => {
                assert_eq!(source, "key list");
                assert_eq!(*position, expected_position, "{text:?}");
                assert_eq!(*chars, bad.chars().count(), "{text:?}");
            }
            other => panic!("{text:?}: expected Undecodable, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&format!("{} characters", bad.chars().count())),
            "{message}"
        );
        assert_message(&err, Some(position), &[&k, bad]);
    }
}

#[test]
fn short_keys_are_rejected_with_position_and_length() {
    let k = URL_SAFE_NO_PAD.encode(key_bytes());
    for (len, encode) in [
        (16, URL_SAFE_NO_PAD.encode(&other_bytes(9)[..16])),
        (16, hex::encode(&other_bytes(9)[..16])),
        (31, STANDARD.encode(&other_bytes(9)[..31])),
        (1, hex::encode([0xAB])),
    ] {
        for (text, position) in [(encode.clone(), 1), (format!("{k}, {encode}"), 2)] {
            let err = text.parse::<KeyRing>().unwrap_err();
            assert_eq!(
                err,
                KeyRingError::TooShort {
                    source: "key list".into(),
                    position,
                    found: len,
                    min: 32
                },
                "{text:?}"
            );
            let message = err.to_string();
            assert!(message.contains(&format!("{len} bytes")), "{message}");
            assert_message(&err, Some(position), &[&k, &encode]);
        }
    }
}

#[test]
fn duplicate_keys_are_rejected_even_in_different_encodings() {
    let a = key_bytes();
    let b = other_bytes(0x77);
    let a_spellings = spellings(&a);
    for (i, (what_1, first)) in a_spellings.iter().enumerate() {
        for (what_2, second) in &a_spellings[i..] {
            let text = format!("{first},{second}");
            let err = text.parse::<KeyRing>().unwrap_err();
            assert_eq!(
                err,
                KeyRingError::Duplicate {
                    source: "key list".into(),
                    position: 2,
                    first: 1
                },
                "{what_1} then {what_2}"
            );
            assert_message(&err, Some(2), &[first, second]);
            // Both positions are named.
            assert!(err.to_string().contains('1'), "{err}");
        }
    }
    let b_hex = hex::encode(&b);
    let text = format!(
        "{},{b_hex},{}",
        STANDARD.encode(&a),
        URL_SAFE_NO_PAD.encode(&a)
    );
    let err = text.parse::<KeyRing>().unwrap_err();
    assert_eq!(
        err,
        KeyRingError::Duplicate {
            source: "key list".into(),
            position: 3,
            first: 1
        }
    );
    assert_message(&err, Some(3), &[&b_hex, &STANDARD.encode(&a)]);
    let text = format!("{},{b_hex},{}", STANDARD.encode(&a), b_hex.to_uppercase());
    assert!(matches!(
        text.parse::<KeyRing>(),
        Err(KeyRingError::Duplicate {
            position: 3,
            first: 2,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------
// KeyRing::from_env, in a child process

/// When set, [`from_env_child`] runs `KeyRing::from_env` on the variable it names.
const CHILD_MARKER: &str = "TSS_KEYS_TEST_FROM_ENV_CHILD";
const RESULT_PREFIX: &str = "from_env result: ";

/// Does nothing in a normal run. In a child started by [`from_env`] below, loads the ring
/// from the variable named by [`CHILD_MARKER`] and prints the outcome on one line.
#[test]
fn from_env_child() {
    let Ok(var) = std::env::var(CHILD_MARKER) else {
        return;
    };
    match KeyRing::from_env(&var) {
        Ok(ring) => {
            let kids: Vec<String> = ring.key_ids().map(hex::encode).collect();
            println!("{RESULT_PREFIX}ok {}", kids.join(","));
        }
        Err(err) => println!("{RESULT_PREFIX}err {err:?} | {err}"),
    }
}

/// Runs [`from_env_child`] in a child process with `var` set to `value` (or unset) and
/// returns the line it printed, without the prefix.
fn from_env(var: &str, value: Option<&std::ffi::OsStr>) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "from_env_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, var);
    match value {
        Some(value) => command.env(var, value),
        None => command.env_remove(var),
    };
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout
        .lines()
        // libtest may print "test from_env_child ... " in front of the line.
        .filter_map(|line| line.split_once(RESULT_PREFIX).map(|(_, result)| result))
        .collect();
    assert_eq!(lines.len(), 1, "child output: {stdout}");
    lines[0].to_owned()
}

fn hex_kids(ring: &KeyRing) -> String {
    ring.key_ids()
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn from_env_missing_variable_is_named() {
    let var = "TSS_KEYS_TEST_MISSING_7F3A";
    let line = from_env(var, None);
    assert!(
        line.starts_with(&format!("err MissingVar {{ var: \"{var}\" }} | {var}: ")),
        "{line}"
    );
}

#[test]
fn from_env_reads_the_same_ring_as_parse() {
    let var = "TSS_KEYS_TEST_GOOD_91C2";
    let text = format!(
        " {} , {}\n",
        URL_SAFE_NO_PAD.encode(key_bytes()),
        hex::encode(other_bytes(0x55))
    );
    let parsed: KeyRing = text.parse().unwrap();
    assert_eq!(parsed.len(), 2);
    let line = from_env(var, Some(text.as_ref()));
    assert_eq!(line, format!("ok {}", hex_kids(&parsed)));
}

#[test]
fn from_env_errors_name_the_variable_and_position() {
    let var = "TSS_KEYS_TEST_BAD_5D0E";
    let good = URL_SAFE_NO_PAD.encode(key_bytes());
    let short = hex::encode(&other_bytes(3)[..16]);
    for (text, kind, position) in [
        (format!("{good},not*a*key"), "Undecodable", 2),
        (format!("{good},{short}"), "TooShort", 2),
        (format!("{good},"), "EmptyEntry", 2),
        (
            format!("{good},{}", hex::encode(key_bytes())),
            "Duplicate",
            2,
        ),
    ] {
        let line = from_env(var, Some(text.as_ref()));
        let (debug, message) = line
            .strip_prefix("err ")
            .and_then(|rest| rest.split_once(" | "))
            .unwrap_or_else(|| panic!("{text:?}: {line}"));
        assert!(debug.starts_with(kind), "{debug}");
        assert!(debug.contains(&format!("source: \"{var}\"")), "{debug}");
        assert!(message.starts_with(&format!("{var}: ")), "{message}");
        assert!(message.contains(&format!("entry {position}")), "{message}");
        assert!(
            !line.contains(&good) && !line.contains(&good[..8]),
            "{line}"
        );
        assert!(
            !line.contains(&short) && !line.contains("not*a*key"),
            "{line}"
        );
    }
    let line = from_env(var, Some("  ".as_ref()));
    assert!(
        line.starts_with(&format!("err Empty {{ source: \"{var}\" }} | {var}: ")),
        "{line}"
    );
}

#[cfg(unix)]
#[test]
fn from_env_rejects_non_unicode() {
    use std::os::unix::ffi::OsStrExt as _;
    let var = "TSS_KEYS_TEST_NOT_UTF8_2B84";
    let line = from_env(var, Some(std::ffi::OsStr::from_bytes(b"abc\xff\xfe")));
    assert!(
        line.starts_with(&format!("err NotUnicode {{ var: \"{var}\" }} | {var}: ")),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------
// Which key seals, which keys open

fn record() -> SealedRecord {
    let mut data = HashMap::new();
    data.insert("user".to_owned(), serde_json::json!(7));
    SealedRecord::new(Record {
        id: Id(99),
        data,
        expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
    })
}

/// The kid a sealed value names.
fn sealed_kid(value: &str) -> [u8; 4] {
    URL_SAFE_NO_PAD.decode(value).unwrap()[1..5]
        .try_into()
        .unwrap()
}

#[test]
fn the_first_key_seals_and_every_key_opens() {
    let (a, b) = (key_bytes(), other_bytes(0x66));
    let (ea, eb) = (URL_SAFE_NO_PAD.encode(&a), hex::encode(&b));
    let ring = |text: String| text.parse::<KeyRing>().unwrap();
    let ab = ring(format!("{ea},{eb}"));
    let ba = ring(format!("{eb},{ea}"));
    let only_a = ring(ea.clone());
    let only_b = ring(eb.clone());

    // "A,B" seals under A: it opens with "B,A" and "A", not with "B".
    let by_ab = ab.seal("id", &record()).unwrap();
    assert_eq!(sealed_kid(&by_ab), reference_kid(&a));
    assert!(ab.open("id", &by_ab).is_some());
    assert!(ba.open("id", &by_ab).is_some());
    assert!(only_a.open("id", &by_ab).is_some());
    assert!(only_b.open("id", &by_ab).is_none());

    // "B,A" seals under B: it opens with "A,B" and "B", not with "A".
    let by_ba = ba.seal("id", &record()).unwrap();
    assert_eq!(sealed_kid(&by_ba), reference_kid(&b));
    assert!(ab.open("id", &by_ba).is_some());
    assert!(only_b.open("id", &by_ba).is_some());
    assert!(only_a.open("id", &by_ba).is_none());
}

#[test]
fn staged_rotation_logs_nobody_out() {
    let (old, new) = (key_bytes(), other_bytes(0x99));
    let (old_text, new_text) = (STANDARD.encode(&old), URL_SAFE_NO_PAD.encode(&new));
    let ring = |text: String| text.parse::<KeyRing>().unwrap();
    let stage0 = ring(old_text.clone());
    let stage1 = ring(format!("{old_text},{new_text}")); // new key accepted, not used
    let stage2 = ring(format!("{new_text},{old_text}")); // new key seals
    let stage3 = ring(new_text.clone()); // old key dropped

    let from_stage0 = stage0.seal("id", &record()).unwrap();
    let from_stage1 = stage1.seal("id", &record()).unwrap();
    assert_eq!(
        sealed_kid(&from_stage1),
        reference_kid(&old),
        "stage 1 still seals with old"
    );
    // Instances still at stage 0 open what stage-1 instances write, and vice versa.
    assert!(stage0.open("id", &from_stage1).is_some());
    assert!(stage1.open("id", &from_stage0).is_some());

    let from_stage2 = stage2.seal("id", &record()).unwrap();
    assert_eq!(sealed_kid(&from_stage2), reference_kid(&new));
    // Stage-1 instances already accept the new key; stage 2 accepts the old cookies.
    assert!(stage1.open("id", &from_stage2).is_some());
    assert!(stage2.open("id", &from_stage0).is_some());
    assert!(stage2.open("id", &from_stage1).is_some());
    // Stage 0 instances would not: that is why stage 1 comes first.
    assert!(stage0.open("id", &from_stage2).is_none());

    // After the old key is dropped, only cookies sealed under the new key open.
    assert!(stage3.open("id", &from_stage2).is_some());
    assert!(stage3.open("id", &from_stage0).is_none());
    assert!(stage3.open("id", &from_stage1).is_none());
}
