//! Writes the seed corpus (`corpus/<target>/`) from the fixtures in `src/lib.rs`. Every
//! file is deterministic (fixed keys, nonces and dates), so re-running it reproduces the
//! committed corpus byte for byte. It needs the `cfg(fuzzing)` hooks of the main crate:
//!
//! ```text
//! cd fuzz && RUSTFLAGS="--cfg fuzzing" CARGO_TARGET_DIR=target/make-corpus \
//!     cargo run --example make_corpus
//! ```

#[cfg(not(fuzzing))]
fn main() {
    eprintln!("make_corpus needs the fuzzing hooks: run it with RUSTFLAGS=\"--cfg fuzzing\"");
    std::process::exit(2);
}

#[cfg(fuzzing)]
fn main() -> std::io::Result<()> {
    corpus::write()
}

#[cfg(fuzzing)]
mod corpus {
    use std::collections::HashMap;
    use std::fs;
    use std::path::Path;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use tower_sessions_sealed::SealedRecord;
    use tower_sessions_sealed::fuzzing::encode_payload;
    use tower_sessions_sealed::session::{Id, Record};
    use tower_sessions_sealed_fuzz::{CREATED_UNIX, FAR_FUTURE_UNIX, at, fixtures};

    fn put(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        fs::write(dir.join(name), bytes)
    }

    fn record(data: Value) -> SealedRecord {
        let Value::Object(map) = data else {
            panic!("object expected")
        };
        SealedRecord {
            record: Record {
                id: Id(0x0123_4567_89ab_cdef),
                data: map.into_iter().collect::<HashMap<_, _>>(),
                expiry_date: at(FAR_FUTURE_UNIX),
            },
            created_at: at(CREATED_UNIX),
        }
    }

    fn payload(sealed: &SealedRecord) -> Vec<u8> {
        encode_payload(sealed).expect("fixture payload encodes").1
    }

    fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = haystack
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern present");
        [&haystack[..at], to, &haystack[at + from.len()..]].concat()
    }

    pub(super) fn write() -> std::io::Result<()> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let fixtures = fixtures();

        // open_cookie: every fixture, raw envelopes (for the base64url re-encoding path),
        // and broken variants.
        let dir = root.join("open_cookie");
        fs::create_dir_all(&dir)?;
        for (index, fixture) in fixtures.iter().enumerate() {
            put(&dir, &format!("fixture-{index}"), &fixture.value)?;
        }
        for index in [0, 2] {
            let envelope = URL_SAFE_NO_PAD
                .decode(&fixtures[index].value)
                .expect("fixture is base64url");
            put(&dir, &format!("envelope-{index}"), envelope)?;
        }
        let one = fixtures[1].value.as_bytes();
        put(&dir, "truncated-1", &one[..one.len() - 5])?;
        let mut flipped = one.to_vec();
        let middle = flipped.len() / 2;
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        put(&dir, "flipped-1", flipped)?;
        put(&dir, "padded-0", format!("{}=", fixtures[0].value))?;
        put(&dir, "version-only", "AQ")?;
        put(&dir, "garbage-text", "not a sealed cookie")?;
        put(
            &dir,
            "garbage-binary",
            b"\x01\xff\xfe\x00id=\"\xc3\x28;\t\x7f",
        )?;

        // decode_payload: the fixtures' plaintexts, edge values, nesting at and past the
        // limit, and malformed variants.
        let dir = root.join("decode_payload");
        fs::create_dir_all(&dir)?;
        for (index, fixture) in fixtures.iter().take(4).enumerate() {
            put(&dir, &format!("fixture-{index}"), payload(&fixture.sealed))?;
        }
        put(
            &dir,
            "numbers",
            payload(&record(json!({
                "u": u64::MAX, "i": i64::MIN, "z": 0, "neg0": -0.0, "big": f64::MAX,
                "sub": 5e-324, "s": "héllo ✓ 🎉", "b": false, "n": null
            }))),
        )?;
        let nest = (0..64).fold(json!(1), |v, _| json!([v]));
        let deep = payload(&record(json!({ "deep": nest })));
        put(&dir, "deep-64", &deep)?;
        put(
            &dir,
            "deep-65",
            replace(&deep, &[6, 1].repeat(64), &[6, 1].repeat(65)),
        )?;
        let sorted = payload(&record(json!({ "a": 1, "b": 2 })));
        let unsorted = replace(
            &sorted,
            &[1, b'a', 2, 1, 1, b'b', 2, 2],
            &[1, b'b', 2, 2, 1, b'a', 2, 1],
        );
        put(&dir, "unsorted-keys", unsorted)?;
        let duplicate = replace(&sorted, &[1, b'b'], &[1, b'a']);
        put(&dir, "duplicate-keys", duplicate)?;
        let two = payload(&fixtures[2].sealed);
        put(&dir, "trailing-byte", [&two[..], &[0]].concat())?;
        put(&dir, "truncated-2", &two[..two.len() - 3])?;

        // cookie_header: `+` = inserting route, `\n` between headers, `@<digit>` = fixture.
        let dir = root.join("cookie_header");
        fs::create_dir_all(&dir)?;
        let headers: &[(&str, &[u8])] = &[
            ("valid", b"id=@0"),
            ("valid-data", b"id=@1"),
            ("insert-valid", b"+id=@1"),
            ("insert-none", b"+"),
            ("rotated", b"foo=bar; id=@2; other=x"),
            ("large", b"id=@3"),
            ("two-ids", b"id=@0; id=@1"),
            ("two-ids-two-headers", b"id=@1\nlang=en; id=@3"),
            ("same-id-twice", b"id=@1\nid=@1"),
            ("rejects-then-valid", b"id=@4; id=@5; id=@6\nid=@1"),
            ("over-candidate-cap", b"id=@0; id=@0; id=@0; id=@0; id=@1"),
            ("other-name", b"other=@5; id=@4"),
            ("malformed", b"id=garbage; id=; =id; ;;; id=@0==; id"),
            ("quoted", b"id=\"@0\"; \"id\"=@1"),
            ("non-utf8", b"id=\xff\xfe; id=@3\n\xc3\x28=@0"),
            ("many-headers", b"a=1\nb=2\n\nid=@0\nc=3\nid=x\nd\nid=@0"),
            ("invalid-header-bytes", b"id=@0\x01\nid=@2"),
        ];
        for (name, bytes) in headers {
            put(&dir, name, bytes)?;
        }
        let literal = format!("id={}", fixtures[1].value);
        put(&dir, "literal-valid", literal)?;
        println!("corpus written to {}", root.display());
        Ok(())
    }
}
