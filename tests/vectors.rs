//! Published vectors for the primitives as this crate uses them, a cross-check against the
//! RustCrypto reference AEAD, and frozen vectors of our own wire format v1.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use serde_json::json;
use sha2::Sha256;
use time::OffsetDateTime;
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{Key, KeyRing, SealedRecord};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// RFC 5869 Appendix A.1 (Test Case 1), with HKDF-SHA256 called the way `src/format/seal.rs` calls it
/// (`Hkdf::<Sha256>::new(Some(salt), ikm)` then `expand`).
#[test]
fn rfc5869_test_case_1() {
    let ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    let salt = unhex("000102030405060708090a0b0c");
    let info = unhex("f0f1f2f3f4f5f6f7f8f9");
    let (prk, hkdf) = Hkdf::<Sha256>::extract(Some(&salt), &ikm);
    assert_eq!(
        hex::encode(prk),
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    );
    let mut okm = [0u8; 42];
    hkdf.expand(&info, &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
    let mut again = [0u8; 42];
    Hkdf::<Sha256>::new(Some(&salt), &ikm)
        .expand(&info, &mut again)
        .unwrap();
    assert_eq!(again, okm);
}

/// draft-irtf-cfrg-xchacha-03 A.3.1 through the RustCrypto reference. (The crate's own
/// composition is checked against the same vector in `src/format/aead.rs`.)
#[test]
fn draft_xchacha_a_3_1_reference() {
    let cipher = XChaCha20Poly1305::new(
        &<[u8; 32]>::try_from(unhex(
            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        ))
        .unwrap()
        .into(),
    );
    let nonce: [u8; 24] = unhex("404142434445464748494a4b4c4d4e4f5051525354555657")
        .try_into()
        .unwrap();
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: b"Ladies and Gentlemen of the class of '99: If I could offer you only one \
tip for the future, sunscreen would be it.",
                aad: &unhex("50515253c0c1c2c3c4c5c6c7"),
            },
        )
        .unwrap();
    assert_eq!(
        hex::encode(sealed),
        concat!(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
            "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
            "21f9664c97637da9768812f615c68b13b52e",
            "c0875924c1c7987947deafd8780acf49",
        )
    );
}

const MASTER: [u8; 32] = [0x42; 32];
const NONCE: [u8; 24] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
];

fn ring() -> KeyRing {
    KeyRing::new(vec![Key::try_from(&MASTER[..]).unwrap()]).unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn record(id: i128, data: serde_json::Value) -> SealedRecord {
    let serde_json::Value::Object(map) = data else {
        unreachable!()
    };
    SealedRecord {
        record: Record {
            id: Id(id),
            data: map.into_iter().collect::<HashMap<_, _>>(),
            expiry_date: at(4_102_444_800), // 2100-01-01T00:00:00Z
        },
        created_at: at(1_764_028_800), // 2025-11-25T00:00:00Z
    }
}

/// Opens a value with nothing but the RustCrypto reference AEAD and HKDF, following
/// DESIGN §3 by hand: an independent implementation of the format.
fn reference_open(master: &[u8], name: &str, value: &str) -> Vec<u8> {
    reference_open_version(master, name, value, 0x01)
}

fn reference_open_version(master: &[u8], name: &str, value: &str, version: u8) -> Vec<u8> {
    let hkdf = Hkdf::<Sha256>::new(Some(b"tower-sessions-sealed v1"), master);
    let mut aead_key = [0u8; 32];
    hkdf.expand(b"seal", &mut aead_key).unwrap();
    let mut kid = [0u8; 4];
    hkdf.expand(b"kid", &mut kid).unwrap();
    let envelope = URL_SAFE_NO_PAD.decode(value).unwrap();
    assert_eq!(envelope[0], version, "version");
    assert_eq!(envelope[1..5], kid, "kid");
    let nonce: [u8; 24] = envelope[5..29].try_into().unwrap();
    let mut aad = envelope[..5].to_vec();
    aad.extend_from_slice(name.as_bytes());
    XChaCha20Poly1305::new(&aead_key.into())
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &envelope[29..],
                aad: &aad,
            },
        )
        .expect("the reference AEAD opens what the crate sealed")
}

struct Vector {
    name: &'static str,
    record: SealedRecord,
    cookie: &'static str,
    /// The postcard plaintext inside, as the reference AEAD recovers it.
    plaintext: &'static str,
}

fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            name: "id",
            record: record(0, json!({})),
            cookie: "AVyFj40AAQIDBAUGBwgJCgsMDQ4PEBESExQVFheIvE6b3eKAKcRbwhlcig9SpFKv4jWuWHomybhBsK_8U_Ep7doyCYDQpds_",
            // id: 16 zero bytes | expires 4102444800 (zigzag varint) | created 1764028800 |
            // data: 0 entries
            plaintext: "0000000000000000000000000000000080dcb2c81e80c6a7920d00",
        },
        Vector {
            name: "__Host-session",
            record: record(
                -170_141_183_460_469_231_731_687_303_715_884_105_728, // i128::MIN
                json!({
                    "user_id": 42,
                    "name": "Ada Lovelace ✓",
                    "roles": ["admin", "editor", "viewer"],
                    "ratio": -0.5,
                    "flags": {"beta": true, "legacy": null},
                    "big": 18_446_744_073_709_551_615u64,
                    "neg": -9_223_372_036_854_775_808i64
                }),
            ),
            cookie: concat!(
                "AVyFj40AAQIDBAUGBwgJCgsMDQ4PEBESExQVFheIvE6b3eKAKcRbwhlcig_SpFKv4jWuWHomyb-qcJdb",
                "03AKNh3S-Gzipo8uEoot9vnDusji90xr1K-ixqvzU-bPRyinRruwCveExOVvbEH_e-OB3nBTjWkJXn0I",
                "e_ctbzt69D2NjYgGUKDvxn8acx_Mgohx3is_Xxskt6i3Seu45iheMZt7zDAc20mmF7ez_cIrnVLVdOXB",
                "wAJC_rNf8_pF1a_Lb3iAORN5OETCs-IQ",
            ),
            // Keys in byte order: big (u64 tag 2), flags (object tag 7), name (string tag 5),
            // neg (i64 tag 3), ratio (f64 tag 4), roles (array tag 6), user_id.
            plaintext: concat!(
                "00000000000000000000000000000080", // i128::MIN, little-endian
                "80dcb2c81e",                       // expires
                "80c6a7920d",                       // created
                "07",                               // 7 entries
                "03626967",
                "02ffffffffffffffffff01",
                "05666c616773",
                "0702",
                "0462657461",
                "0101",
                "066c6567616379",
                "00",
                "046e616d65",
                "0510416461204c6f76656c61636520e29c93",
                "036e6567",
                "03ffffffffffffffffff01",
                "05726174696f",
                "04000000000000e0bf",
                "05726f6c6573",
                "0603",
                "050561646d696e",
                "0506656469746f72",
                "0506766965776572",
                "07757365725f6964",
                "022a",
            ),
        },
    ]
}

#[test]
fn frozen_vectors_seal_to_the_exact_cookie() {
    let keys = ring();
    for v in vectors() {
        let sealed = keys
            .dangerous_seal_with_nonce(v.name, &v.record, NONCE)
            .unwrap();
        assert_eq!(sealed, v.cookie, "vector for cookie name {}", v.name);
    }
}

#[test]
fn frozen_vectors_open() {
    let keys = ring();
    let now = at(1_764_028_800);
    for v in vectors() {
        let opened = keys.open_at(v.name, v.cookie, now).unwrap();
        assert_eq!(opened, v.record);
        // The plaintext is exactly what the reference AEAD recovers.
        let plaintext = reference_open(&MASTER, v.name, v.cookie);
        assert_eq!(
            hex::encode(plaintext),
            v.plaintext,
            "plaintext of {}",
            v.name
        );
    }
}

#[test]
fn random_seals_cross_open_with_the_reference_aead() {
    let keys = ring();
    for v in vectors() {
        let a = keys.seal(v.name, &v.record).unwrap();
        let b = keys.seal(v.name, &v.record).unwrap();
        assert_ne!(a, b, "a fresh nonce per seal");
        assert_eq!(
            reference_open(&MASTER, v.name, &a),
            reference_open(&MASTER, v.name, &b)
        );
    }
}

/// Format version 2 (written when a revocation store is configured): version 1's payload,
/// then the creation time's nanoseconds and the last revocation check.
#[test]
fn frozen_version_2_vector() {
    let keys = ring();
    let mut sealed = record(7, json!({"user": "ada"}));
    sealed.created_at = at(1_764_028_800).replace_nanosecond(123_456_789).unwrap();
    let checked = Some(at(1_764_032_400)); // an hour later
    let cookie = keys
        .dangerous_seal_revocation_with_nonce("id", &sealed, checked, NONCE)
        .unwrap();
    assert_eq!(
        cookie,
        "AlyFj40AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhePvE6b3eKAKcRbwhlcig9SpFKv4jWuWHomybmtZ41Zo4r2qIZMEl5GXo-LikHenIrBr8ZDPuQfiad_M4Snct1B"
    );
    assert_eq!(
        hex::encode(reference_open_version(&MASTER, "id", &cookie, 0x02)),
        concat!(
            "07000000000000000000000000000000", // id 7, little-endian
            "80dcb2c81e",                       // expires
            "80c6a7920d",                       // created (whole seconds)
            "01",                               // 1 entry
            "0475736572",
            "0503616461",
            "15cd5b07",     // created_nanos 123456789 (u32 little-endian)
            "01a0fea7920d", // checked: Some(1764032400) (zigzag varint)
            "00",           // stored: false (the data is in the cookie)
        )
    );
    // It opens, with the exact creation time, and not under another name or version.
    let opened = keys.open_at("id", &cookie, at(1_764_028_800)).unwrap();
    assert_eq!(opened, sealed);
    assert!(keys.open_at("other", &cookie, at(1_764_028_800)).is_none());
    let mut envelope = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
    envelope[0] = 0x01;
    assert!(
        keys.open_at("id", &URL_SAFE_NO_PAD.encode(&envelope), at(1_764_028_800))
            .is_none(),
        "the version is authenticated"
    );
    // Never checked: the option's 0x00.
    let never = keys
        .dangerous_seal_revocation_with_nonce("id", &sealed, None, NONCE)
        .unwrap();
    let plaintext = hex::encode(reference_open_version(&MASTER, "id", &never, 0x02));
    assert!(plaintext.ends_with("15cd5b070000"), "{plaintext}");
}

/// Format version 3 (version 1 with unsigned arrays, tag 8): written only when the data has
/// an array of at least two non-negative integers, such as a token's bytes as serde writes
/// them. The same record without one stays version 1 (vector 1 above is unchanged).
#[test]
fn frozen_version_3_vector() {
    let keys = ring();
    let sealed = record(
        7,
        json!({"csrf": [0, 127, 128, 255], "grid": [[1, 2], [3]], "n": [-1, 1]}),
    );
    let cookie = keys
        .dangerous_seal_with_nonce("id", &sealed, NONCE)
        .unwrap();
    assert_eq!(
        cookie,
        "A1yFj40AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhePvE6b3eKAKcRbwhlcig9SpFKv4jWuWHomybutcY1Ot4fxyZ2tBmwcXelZHYJKk4LGuc6GkzoJ1MCiqM2VMISJ-YI1iVqWNAPbx_DHwwam"
    );
    assert_eq!(
        hex::encode(reference_open_version(&MASTER, "id", &cookie, 0x03)),
        concat!(
            "07000000000000000000000000000000", // id 7, little-endian
            "80dcb2c81e",                       // expires
            "80c6a7920d",                       // created
            "03",                               // 3 entries, sorted
            "0463737266",                       // "csrf"
            "0804007f8001ff01",                 // tag 8, 4 elements: 0, 127, 128, 255
            "0467726964",                       // "grid"
            "0602",                             // an array of 2:
            "08020102",                         //   tag 8 [1, 2]
            "06010203",                         //   tag 6 [3] (one element: not tag 8)
            "016e",                             // "n"
            "060203010201",                     // tag 6 [-1, 1] (not all unsigned)
        )
    );
    let opened = keys.open_at("id", &cookie, at(1_764_028_800)).unwrap();
    assert_eq!(opened, sealed);
    assert_eq!(opened.record.data["csrf"], json!([0, 127, 128, 255]));
}
