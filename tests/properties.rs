//! Property tests for wire format v1: arbitrary records survive `seal` → `open_at` exactly
//! (float bit patterns included), arbitrary text and bytes never open and never panic, and
//! a sealed value with any byte altered never opens.

// Tests unwrap freely: a panic is a test failure with a precise location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};
use time::{Duration, OffsetDateTime};
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{ErrorKind, Key, KeyRing, MAX_VALUE_LEN, SealedRecord};

/// Earliest and latest whole seconds `time` represents without its `large-dates` feature:
/// -9999-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const MIN_SECS: i64 = -377_705_116_800;
const MAX_SECS: i64 = 253_402_300_799;

fn config() -> Config {
    Config {
        cases: 256,
        // Do not write regression files into the source tree; failures print the input.
        failure_persistence: None,
        ..Config::default()
    }
}

fn keys() -> KeyRing {
    KeyRing::new(vec![
        Key::try_from(&[0x5Du8; 32][..]).unwrap(),
        Key::try_from(&[0x6Eu8; 48][..]).unwrap(),
    ])
    .unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

// ---------------------------------------------------------------------------------------
// Strategies

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Any Unicode scalar values, control characters and NUL included.
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
        // Printable text, the common case.
        "[a-zA-Z0-9_ ]{0,8}",
        Just(String::new()),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            2.225_073_858_507_201e-308, // largest subnormal
            9_007_199_254_740_993.0,    // 2^53 + 1 (rounds)
            1e300,
            -1e-300,
        ]),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![0u64, 1, u64::MAX, i64::MAX as u64]).prop_map(Value::from),
        prop::sample::select(vec![-1i64, i64::MIN]).prop_map(Value::from),
        finite_f64().prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        text().prop_map(Value::String),
    ]
}

/// Values nesting arrays/objects at most 8 deep.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

prop_compose! {
    /// A record that is still valid one second before its expiry date.
    fn sealed_record()(
        id in prop_oneof![
            any::<i128>(),
            prop::sample::select(vec![i128::MIN, i128::MAX, 0, -1, 1]),
        ],
        expires in prop_oneof![
            (MIN_SECS + 1)..=MAX_SECS,
            prop::sample::select(vec![MIN_SECS + 1, MAX_SECS, 0, 1, -1]),
        ],
        created in prop_oneof![
            MIN_SECS..=MAX_SECS,
            prop::sample::select(vec![MIN_SECS, MAX_SECS, 0]),
        ],
        data in prop::collection::hash_map(text(), value(), 0..6),
    ) -> SealedRecord {
        SealedRecord {
            record: Record { id: Id(id), data, expiry_date: at(expires) },
            created_at: at(created),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exact comparison

/// Asserts that `a` and `b` are the same value, numbers of the same kind and floats with
/// the same bit pattern (so `-0.0` does not come back as `0.0`).
fn assert_identical(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            assert_eq!(x.is_u64(), y.is_u64(), "u64-ness at {path}");
            assert_eq!(x.is_i64(), y.is_i64(), "i64-ness at {path}");
            assert_eq!(x.is_f64(), y.is_f64(), "f64-ness at {path}");
            if x.is_f64() {
                let (fx, fy) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert_eq!(
                    fx.to_bits(),
                    fy.to_bits(),
                    "float bits at {path}: {fx:e} vs {fy:e}"
                );
            } else {
                assert_eq!(x.as_u64(), y.as_u64(), "at {path}");
                assert_eq!(x.as_i64(), y.as_i64(), "at {path}");
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "array length at {path}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_identical(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len(), "object size at {path}");
            for (k, x) in x {
                let y = y
                    .get(k)
                    .unwrap_or_else(|| panic!("key {k:?} missing at {path}"));
                assert_identical(x, y, &format!("{path}.{k:?}"));
            }
        }
        _ => assert_eq!(a, b, "at {path}"),
    }
}

fn assert_same_data(a: &HashMap<String, Value>, b: &HashMap<String, Value>) {
    assert_eq!(a.len(), b.len());
    for (k, x) in a {
        let y = b.get(k).unwrap_or_else(|| panic!("key {k:?} missing"));
        assert_identical(x, y, &format!("{k:?}"));
    }
}

#[test]
fn the_bitwise_comparison_can_fail() {
    let neg = Value::Number(Number::from_f64(-0.0).unwrap());
    let pos = Value::Number(Number::from_f64(0.0).unwrap());
    assert_eq!(neg, pos, "serde_json's == cannot tell -0.0 from 0.0");
    let caught = std::panic::catch_unwind(|| assert_identical(&neg, &pos, "x"));
    assert!(caught.is_err());
    let caught = std::panic::catch_unwind(|| {
        assert_identical(&Value::from(1.0), &Value::from(1u64), "x");
    });
    assert!(caught.is_err());
    assert_identical(&neg, &neg.clone(), "x");
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_records_roundtrip_exactly(sealed in sealed_record()) {
        let keys = keys();
        match keys.seal("id", &sealed) {
            Ok(value) => {
                prop_assert!(value.len() <= MAX_VALUE_LEN);
                let now = sealed.record.expiry_date - Duration::seconds(1);
                let opened = keys.open_at("id", &value, now);
                prop_assert!(opened.is_some(), "sealed record did not open");
                let opened = opened.unwrap();
                prop_assert!(opened == sealed);
                prop_assert_eq!(opened.record.id, sealed.record.id);
                prop_assert_eq!(opened.record.expiry_date, sealed.record.expiry_date);
                prop_assert_eq!(opened.created_at, sealed.created_at);
                assert_same_data(&opened.record.data, &sealed.record.data);
                // Sealed for one name only, and expired at its expiry date.
                prop_assert!(keys.open_at("id2", &value, now).is_none());
                prop_assert!(keys.open_at("id", &value, sealed.record.expiry_date).is_none());
            }
            Err(err) => {
                // The only acceptable failure for data this shallow is size.
                let too_large = matches!(
                    err.kind(),
                    ErrorKind::CookieTooLarge { size, limit: MAX_VALUE_LEN } if size > MAX_VALUE_LEN
                );
                prop_assert!(too_large, "unexpected seal error: {err}");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_opens(text in any::<String>()) {
        let keys = keys();
        prop_assert!(keys.open("id", &text).is_none());
        prop_assert!(keys.open_at("id", &text, at(0)).is_none());
    }

    #[test]
    fn arbitrary_base64url_alphabet_text_never_opens(text in "[A-Za-z0-9_-]{0,200}") {
        let keys = keys();
        prop_assert!(keys.open_at("id", &text, at(0)).is_none());
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let keys = keys();
        let value = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert!(keys.open("id", &value).is_none());
        prop_assert!(keys.open_at("id", &value, at(0)).is_none());
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_open(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        which in 0usize..2,
    ) {
        // Version and a kid from the ring, so that the AEAD itself is what says no.
        let keys = keys();
        let kid = keys.key_ids().nth(which).unwrap();
        let mut envelope = vec![0x01];
        envelope.extend_from_slice(&kid);
        envelope.extend_from_slice(&bytes);
        let value = URL_SAFE_NO_PAD.encode(&envelope);
        prop_assert!(keys.open_at("id", &value, at(0)).is_none());
    }

    #[test]
    fn mutated_sealed_values_never_open(
        sealed in sealed_record(),
        index in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let keys = keys();
        let Ok(value) = keys.seal("id", &sealed) else {
            // Too large to seal: covered by the round-trip property.
            return Ok(());
        };
        let now = sealed.record.expiry_date - Duration::seconds(1);
        prop_assert!(keys.open_at("id", &value, now).is_some());
        let mut envelope = URL_SAFE_NO_PAD.decode(&value).unwrap();
        let i = index.index(envelope.len());
        envelope[i] ^= xor;
        let mutated = URL_SAFE_NO_PAD.encode(&envelope);
        prop_assert!(
            keys.open_at("id", &mutated, now).is_none(),
            "byte {} of {} xor {:#04x} still opened", i, envelope.len(), xor
        );
    }
}
