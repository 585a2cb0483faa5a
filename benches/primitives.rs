//! The floor: the raw pipeline this crate cannot avoid (postcard + XChaCha20-Poly1305 +
//! base64url) for the same session data as the middleware cases, next to the crate's own
//! public `KeyRing::seal` / `KeyRing::open` on the same records.
//!
//! The floor encodes the crate's wire format v1 with plain serde + postcard and no checks
//! beyond the AEAD tag: `version | kid | nonce | AEAD(postcard(payload)) | tag`, AAD =
//! `version | kid | cookie name`, the payload being `(id [16 bytes], expires, created,
//! [(key, value)])` with each session value a serde enum that postcard encodes exactly as
//! the crate does (with tag 8, the unsigned arrays of formats 3 and 4, and the version byte
//! 3 when the data has one). `--check` shows that the floor opens and decodes a cookie
//! sealed by the crate, so both work on the same bytes.
//!
//! - raw open floor = base64url decode + AEAD open + postcard decode (into the mirror enum);
//! - raw seal floor = postcard encode + nonce (rand 0.8 `thread_rng`, as the crate) + AEAD
//!   seal + base64url encode;
//! - AEAD: the crate's default backend composition (ring ChaCha20-Poly1305 with a
//!   `chacha20::hchacha` subkey; the RustCrypto reference when feature `ring` is off), and
//!   RustCrypto `chacha20poly1305::XChaCha20Poly1305` as the reference implementation.
//!
//! Modes: `--driver <group/function> <N>` runs one primitive `N` times without criterion
//! (for callgrind), `--check` prints the cross-checks and sizes (JSON lines), `--list` the
//! primitives; otherwise criterion runs.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};
use time::OffsetDateTime;
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{Key, KeyRing, SealedRecord};

use common::{Shape, Size};

/// The cookie name every sealed value is bound to (the crate's default).
const NAME: &str = "id";
/// `version | kid`.
const PREFIX_LEN: usize = 5;
/// `version | kid | nonce`.
const HEADER_LEN: usize = PREFIX_LEN + 24;
const TAG_LEN: usize = 16;
/// The session id every record uses.
const SESSION_ID: i128 = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;
/// The master key the crate's ring and the floor's derived key come from.
const MASTER: [u8; 32] = [0xA1; 32];

// ---------------------------------------------------------------------------------------
// The mirror of the crate's payload, as plain serde types

/// A session value as postcard sees it in the crate's format (a tagged enum).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum PValue {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    String(String),
    Array(Vec<PValue>),
    Object(Vec<(String, PValue)>),
    /// Tag 8 of formats 3 and 4: an array of at least two non-negative integers (how serde
    /// writes a byte token), varints without a tag per element.
    UArray(Vec<u64>),
}

/// Whether any value of `pairs` is a tag-8 array (the crate then writes format 3).
fn has_uarray(pairs: &[(String, PValue)]) -> bool {
    fn any(v: &PValue) -> bool {
        match v {
            PValue::UArray(_) => true,
            PValue::Array(items) => items.iter().any(any),
            PValue::Object(pairs) => pairs.iter().any(|(_, v)| any(v)),
            _ => false,
        }
    }
    pairs.iter().any(|(_, v)| any(v))
}

/// `(id, expires, created, data)`, fields back to back.
type Payload = ([u8; 16], i64, i64, Vec<(String, PValue)>);

fn to_mirror(value: &Value) -> PValue {
    match value {
        Value::Null => PValue::Null,
        Value::Bool(b) => PValue::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => PValue::U64(u),
            (None, Some(i)) => PValue::I64(i),
            _ => PValue::F64(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => PValue::String(s.clone()),
        Value::Array(items) => {
            let unsigned: Option<Vec<u64>> = items.iter().map(Value::as_u64).collect();
            match unsigned {
                Some(u) if u.len() >= 2 => PValue::UArray(u),
                _ => PValue::Array(items.iter().map(to_mirror).collect()),
            }
        }
        Value::Object(map) => {
            let mut pairs: Vec<_> = map.iter().map(|(k, v)| (k.clone(), to_mirror(v))).collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            PValue::Object(pairs)
        }
    }
}

/// What the crate must build for tower-sessions: `serde_json::Value`s in a `HashMap`.
fn to_json(value: PValue) -> Value {
    match value {
        PValue::Null => Value::Null,
        PValue::Bool(b) => Value::Bool(b),
        PValue::U64(u) => Value::Number(u.into()),
        PValue::I64(i) => Value::Number(i.into()),
        PValue::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        PValue::String(s) => Value::String(s),
        PValue::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        PValue::UArray(items) => Value::Array(items.into_iter().map(Value::from).collect()),
        PValue::Object(pairs) => Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn to_json_map(pairs: Vec<(String, PValue)>) -> HashMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k, to_json(v))).collect()
}

/// One size's inputs: the crate's record and the same data as the floor's payload.
struct Inputs {
    label: &'static str,
    sealed: SealedRecord,
    payload: Payload,
}

fn unix_seconds_ceil(date: OffsetDateTime) -> i64 {
    let secs = date.unix_timestamp();
    if date.nanosecond() > 0 {
        secs + 1
    } else {
        secs
    }
}

fn inputs(label: &'static str, filler: Option<usize>) -> Inputs {
    shaped_inputs(label, filler.map(|f| (Shape::Str, f)))
}

fn shaped_inputs(label: &'static str, data: Option<(Shape, usize)>) -> Inputs {
    let data: HashMap<String, Value> = match data {
        Some((shape, filler)) => common::shape_data(shape, filler).into_iter().collect(),
        None => HashMap::new(),
    };
    let now = OffsetDateTime::now_utc();
    let record = Record {
        id: Id(SESSION_ID),
        data,
        expiry_date: now + time::Duration::weeks(2),
    };
    let sealed = SealedRecord {
        record,
        created_at: now,
    };
    let mut pairs: Vec<_> = sealed
        .record
        .data
        .iter()
        .map(|(k, v)| (k.clone(), to_mirror(v)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let payload = (
        SESSION_ID.to_le_bytes(),
        unix_seconds_ceil(sealed.record.expiry_date),
        sealed.created_at.unix_timestamp(),
        pairs,
    );
    Inputs {
        label,
        sealed,
        payload,
    }
}

/// The minimal record (no data), the three data sizes, and the typical size in the other
/// payload shapes (`100B@bytes`, `100B@numeric`: the floors of the middleware bench's
/// `…@bytes` and `…@numeric` cases).
fn all_inputs() -> Vec<Inputs> {
    let mut all = vec![inputs("minimal", None)];
    all.extend(Size::ALL.map(|size| inputs(size.label(), Some(size.filler()))));
    all.push(shaped_inputs("100B@bytes", Some((Shape::Bytes, 0))));
    all.push(shaped_inputs("100B@numeric", Some((Shape::Numeric, 0))));
    all
}

// ---------------------------------------------------------------------------------------
// AEAD: the crate's default composition, and the RustCrypto reference

/// The crate's default backend: HChaCha20 subkey (RustCrypto `chacha20`), then ring's
/// IETF ChaCha20-Poly1305 with nonce `[0; 4] ‖ nonce[16..24]`.
#[cfg(feature = "ring")]
mod default_aead {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};

    pub(crate) const NAME: &str = "ring ChaCha20-Poly1305 + chacha20::hchacha";

    fn key_for(key: &[u8; 32], nonce: &[u8; 24]) -> (LessSafeKey, Nonce) {
        let mut input = [0u8; 16];
        input.copy_from_slice(&nonce[..16]);
        let subkey = <[u8; 32]>::from(chacha20::hchacha::<chacha20::R20>(
            &(*key).into(),
            &input.into(),
        ));
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &subkey).unwrap();
        let mut ietf = [0u8; 12];
        ietf[4..].copy_from_slice(&nonce[16..]);
        (
            LessSafeKey::new(unbound),
            Nonce::assume_unique_for_key(ietf),
        )
    }

    pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        let (key, nonce) = key_for(key, nonce);
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), buf)
            .unwrap();
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub(crate) fn open(
        key: &[u8; 32],
        nonce: &[u8; 24],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        let (key, nonce) = key_for(key, nonce);
        key.open_in_place_separate_tag(nonce, Aad::from(aad), Tag::from(*tag), buf, 0..)
            .is_ok()
    }
}

/// Without feature `ring` the crate uses RustCrypto, and so does the floor.
#[cfg(not(feature = "ring"))]
mod default_aead {
    pub(crate) const NAME: &str = "RustCrypto chacha20poly1305 XChaCha20Poly1305";

    pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        super::RustCrypto::new(key).seal(nonce, aad, buf)
    }

    pub(crate) fn open(
        key: &[u8; 32],
        nonce: &[u8; 24],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        super::RustCrypto::new(key).open(nonce, aad, buf, tag)
    }
}

/// RustCrypto `XChaCha20Poly1305`, cipher set up once.
struct RustCrypto(chacha20poly1305::XChaCha20Poly1305);

impl RustCrypto {
    fn new(key: &[u8; 32]) -> Self {
        use chacha20poly1305::KeyInit as _;
        Self(chacha20poly1305::XChaCha20Poly1305::new(&(*key).into()))
    }

    fn seal(&self, nonce: &[u8; 24], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        use chacha20poly1305::aead::AeadInOut as _;
        self.0
            .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
            .unwrap()
            .into()
    }

    fn open(&self, nonce: &[u8; 24], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> bool {
        use chacha20poly1305::aead::AeadInOut as _;
        self.0
            .decrypt_inout_detached(&(*nonce).into(), aad, buf.into(), &(*tag).into())
            .is_ok()
    }
}

// ---------------------------------------------------------------------------------------
// The floor pipeline

/// The AEAD key and key id, derived from [`MASTER`] exactly as the crate documents
/// (HKDF-SHA256, salt `tower-sessions-sealed v1`, infos `seal` and `kid`), so the floor can
/// open the crate's cookies.
struct FloorKey {
    key: [u8; 32],
    kid: [u8; 4],
    reference: RustCrypto,
}

impl FloorKey {
    fn derive() -> Self {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"tower-sessions-sealed v1"), &MASTER);
        let mut key = [0u8; 32];
        let mut kid = [0u8; 4];
        hkdf.expand(b"seal", &mut key).unwrap();
        hkdf.expand(b"kid", &mut kid).unwrap();
        Self {
            reference: RustCrypto::new(&key),
            key,
            kid,
        }
    }
}

/// `prefix ‖ name` on the stack.
fn aad(prefix: &[u8], out: &mut [u8; 64]) -> usize {
    let len = prefix.len() + NAME.len();
    out[..prefix.len()].copy_from_slice(prefix);
    out[prefix.len()..len].copy_from_slice(NAME.as_bytes());
    len
}

/// Which AEAD the floor pipeline calls.
#[derive(Clone, Copy)]
enum Backend {
    Default,
    RustCrypto,
}

/// Raw seal floor: postcard encode + nonce + AEAD seal + base64url encode.
fn floor_seal(key: &FloorKey, payload: &Payload, backend: Backend) -> String {
    let mut envelope = Vec::with_capacity(512);
    // Format 1, or 3 when the data has a tag-8 array, as the crate writes it.
    envelope.push(if has_uarray(&payload.3) { 3u8 } else { 1u8 });
    envelope.extend_from_slice(&key.kid);
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    envelope.extend_from_slice(&nonce);
    let mut envelope = postcard::to_extend(payload, envelope).unwrap();
    let (header, body) = envelope.split_at_mut(HEADER_LEN);
    let mut aad_buf = [0u8; 64];
    let aad_len = aad(&header[..PREFIX_LEN], &mut aad_buf);
    let tag = match backend {
        Backend::Default => default_aead::seal(&key.key, &nonce, &aad_buf[..aad_len], body),
        Backend::RustCrypto => key.reference.seal(&nonce, &aad_buf[..aad_len], body),
    };
    envelope.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(&envelope)
}

/// Raw open floor: base64url decode + AEAD open + postcard decode.
fn floor_open(key: &FloorKey, value: &str, backend: Backend) -> Option<Payload> {
    let mut envelope = URL_SAFE_NO_PAD.decode(value).ok()?;
    if envelope.len() < HEADER_LEN + TAG_LEN {
        return None;
    }
    let (header, body) = envelope.split_at_mut(HEADER_LEN);
    let (ciphertext, tag) = body.split_at_mut(body.len() - TAG_LEN);
    let tag: [u8; 16] = (&*tag).try_into().ok()?;
    let nonce: [u8; 24] = header[PREFIX_LEN..].try_into().ok()?;
    let mut aad_buf = [0u8; 64];
    let aad_len = aad(&header[..PREFIX_LEN], &mut aad_buf);
    let ok = match backend {
        Backend::Default => {
            default_aead::open(&key.key, &nonce, &aad_buf[..aad_len], ciphertext, &tag)
        }
        Backend::RustCrypto => key
            .reference
            .open(&nonce, &aad_buf[..aad_len], ciphertext, &tag),
    };
    if !ok {
        return None;
    }
    postcard::from_bytes(ciphertext).ok()
}

/// Raw read+write floor: open, `counter + 1`, seal.
fn floor_rw(key: &FloorKey, value: &str) -> String {
    let mut payload = floor_open(key, value, Backend::Default).unwrap();
    for (k, v) in &mut payload.3 {
        if k == "counter"
            && let PValue::U64(n) = v
        {
            *n += 1;
        }
    }
    floor_seal(key, &payload, Backend::Default)
}

// ---------------------------------------------------------------------------------------
// The primitives

/// One timed primitive: criterion group and function, and the work of one iteration.
struct Prim {
    group: &'static str,
    function: &'static str,
    run: Box<dyn FnMut()>,
}

fn prim(group: &'static str, function: &'static str, run: impl FnMut() + 'static) -> Prim {
    Prim {
        group,
        function,
        run: Box::new(run),
    }
}

fn keyring() -> KeyRing {
    KeyRing::new(vec![Key::try_from(&MASTER[..]).unwrap()]).unwrap()
}

/// Every primitive, each with its inputs prepared (and checked) up front.
fn prims() -> Vec<Prim> {
    let mut out = Vec::new();
    let key = std::rc::Rc::new(FloorKey::derive());
    let ring = std::rc::Rc::new(keyring());
    for input in all_inputs() {
        let label = input.label;
        let floor_value = floor_seal(&key, &input.payload, Backend::Default);
        let crate_value = ring.seal(NAME, &input.sealed).unwrap();
        assert_eq!(
            floor_open(&key, &floor_value, Backend::Default).as_ref(),
            Some(&input.payload),
            "{label}: floor round trip"
        );
        assert!(
            ring.open(NAME, &crate_value).is_some(),
            "{label}: crate round trip"
        );
        let plaintext = postcard::to_allocvec(&input.payload).unwrap();
        let mut envelope = URL_SAFE_NO_PAD.decode(&floor_value).unwrap();
        let (header, body) = envelope.split_at_mut(HEADER_LEN);
        let nonce: [u8; 24] = header[PREFIX_LEN..].try_into().unwrap();
        let mut aad_buf = [0u8; 64];
        let aad_len = aad(&header[..PREFIX_LEN], &mut aad_buf);
        let aad_vec = aad_buf[..aad_len].to_vec();
        let (ct, tag) = body.split_at(body.len() - TAG_LEN);
        let (ct, tag): (Vec<u8>, [u8; 16]) = (ct.to_vec(), tag.try_into().unwrap());

        // The crate's public API on the same record.
        {
            let (ring, value) = (ring.clone(), crate_value.clone());
            out.push(prim("crate_open", label, move || {
                black_box(ring.open(NAME, black_box(&value)).unwrap());
            }));
        }
        {
            let (ring, sealed) = (ring.clone(), input.sealed.clone());
            out.push(prim("crate_seal", label, move || {
                black_box(ring.seal(NAME, black_box(&sealed)).unwrap());
            }));
        }
        // AEAD alone, in place, on the same plaintext length.
        {
            let (key, aad_vec, mut buf) = (key.clone(), aad_vec.clone(), plaintext.clone());
            out.push(prim("aead_default_seal", label, move || {
                black_box(default_aead::seal(&key.key, &nonce, &aad_vec, &mut buf));
            }));
        }
        {
            let (key, aad_vec, ct) = (key.clone(), aad_vec.clone(), ct.clone());
            let mut buf = ct.clone();
            out.push(prim("aead_default_open", label, move || {
                buf.copy_from_slice(&ct);
                assert!(default_aead::open(
                    &key.key, &nonce, &aad_vec, &mut buf, &tag
                ));
            }));
        }
        {
            let (key, aad_vec, mut buf) = (key.clone(), aad_vec.clone(), plaintext.clone());
            out.push(prim("aead_rustcrypto_seal", label, move || {
                black_box(key.reference.seal(&nonce, &aad_vec, &mut buf));
            }));
        }
        {
            let (key, aad_vec, ct) = (key.clone(), aad_vec.clone(), ct.clone());
            let mut buf = ct.clone();
            out.push(prim("aead_rustcrypto_open", label, move || {
                buf.copy_from_slice(&ct);
                assert!(key.reference.open(&nonce, &aad_vec, &mut buf, &tag));
            }));
        }
        if label == "minimal" {
            continue;
        }
        // The floor pipelines.
        {
            let (key, value) = (key.clone(), floor_value.clone());
            out.push(prim("floor_open", label, move || {
                black_box(floor_open(&key, black_box(&value), Backend::Default).unwrap());
            }));
        }
        {
            let (key, payload) = (key.clone(), input.payload.clone());
            out.push(prim("floor_seal", label, move || {
                black_box(floor_seal(&key, black_box(&payload), Backend::Default));
            }));
        }
        {
            let (key, value) = (key.clone(), floor_value.clone());
            out.push(prim("floor_rw", label, move || {
                black_box(floor_rw(&key, black_box(&value)));
            }));
        }
        {
            let (key, value) = (key.clone(), floor_value.clone());
            out.push(prim("floor_open_rustcrypto", label, move || {
                black_box(floor_open(&key, black_box(&value), Backend::RustCrypto).unwrap());
            }));
        }
        // Parts of the open floor, and what the tower-sessions data model adds to it.
        {
            let value = floor_value.clone();
            out.push(prim("part_b64_decode", label, move || {
                black_box(URL_SAFE_NO_PAD.decode(black_box(&value)).unwrap());
            }));
        }
        {
            let plaintext = plaintext.clone();
            out.push(prim("part_postcard_de", label, move || {
                black_box(postcard::from_bytes::<Payload>(black_box(&plaintext)).unwrap());
            }));
        }
        {
            let payload = input.payload.clone();
            out.push(prim("part_postcard_ser", label, move || {
                black_box(postcard::to_allocvec(black_box(&payload)).unwrap());
            }));
        }
        {
            let pairs = input.payload.3.clone();
            out.push(prim("part_to_json_map", label, move || {
                black_box(to_json_map(black_box(pairs.clone())));
            }));
        }
        {
            let pairs = input.payload.3.clone();
            out.push(prim("part_clone_mirror", label, move || {
                black_box(black_box(&pairs).clone());
            }));
        }
    }
    out.push(prim("part_nonce", "thread_rng_24B", || {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        black_box(nonce);
    }));
    out
}

/// `--check`: the floor opens the crate's own cookie, and sizes agree (JSON lines).
fn check() {
    let key = FloorKey::derive();
    let ring = keyring();
    for input in all_inputs() {
        let crate_value = ring.seal(NAME, &input.sealed).unwrap();
        let floor_value = floor_seal(&key, &input.payload, Backend::Default);
        let opened = floor_open(&key, &crate_value, Backend::Default);
        let plaintext = postcard::to_allocvec(&input.payload).unwrap().len();
        println!(
            "{}",
            json!({
                "kind": "floor_check",
                "size": input.label,
                "aead": default_aead::NAME,
                "floor_opens_crate_cookie": opened.as_ref() == Some(&input.payload),
                "plaintext": plaintext,
                "crate_value_len": crate_value.len(),
                "floor_value_len": floor_value.len(),
                "data_json": serde_json::to_vec(&input.sealed.record.data).map_or(0, |v| v.len()),
            })
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--check") {
        check();
        return;
    }
    if args.iter().any(|a| a == "--list") {
        for p in prims() {
            println!("{}", json!({"id": format!("{}/{}", p.group, p.function)}));
        }
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--driver") {
        let id = args.get(at + 1).expect("--driver <group/function> <N>");
        let n: u64 = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .expect("--driver <group/function> <N>");
        let mut p = prims()
            .into_iter()
            .find(|p| format!("{}/{}", p.group, p.function) == *id)
            .unwrap_or_else(|| panic!("no primitive {id:?}; see --list"));
        driver_loop(&mut p, n);
        return;
    }

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    let mut all = prims();
    let mut groups: Vec<&'static str> = Vec::new();
    for p in &all {
        if !groups.contains(&p.group) {
            groups.push(p.group);
        }
    }
    for group_name in groups {
        let mut group = criterion.benchmark_group(group_name);
        for p in all.iter_mut().filter(|p| p.group == group_name) {
            group.bench_function(p.function, |b| b.iter(&mut p.run));
        }
        group.finish();
    }
    criterion.final_summary();
}

/// The loop of `--driver`; not inlined so that callgrind can name it.
#[inline(never)]
fn driver_loop(p: &mut Prim, n: u64) {
    for _ in 0..n {
        (p.run)();
    }
}
