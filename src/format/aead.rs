//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03), with two interchangeable backends.
//!
//! - `ring` (default feature): the construction exactly as the draft's §2.3 defines it:
//!   `subkey = HChaCha20(key, nonce[0..16])` (RustCrypto `chacha20::hchacha`), then the
//!   IETF ChaCha20-Poly1305 AEAD (ring) under `subkey` with the 12-byte nonce
//!   `[0, 0, 0, 0] ‖ nonce[16..24]`. This is what libsodium does. It is checked against the
//!   draft's A.3.1 vector and cross-opened with RustCrypto in the tests.
//! - `pure-rust`: RustCrypto `chacha20poly1305::XChaCha20Poly1305`, the reference
//!   implementation, used when `ring` is off (for example on wasm).
//!
//! Both produce identical bytes. No primitive is written here: only the composition. When
//! both features are on, `ring` is used and the tests check each backend against the other.

#[cfg(not(any(feature = "ring", feature = "pure-rust")))]
compile_error!("tower-sessions-sealed needs an AEAD backend: enable feature `ring` or `pure-rust`");

/// AEAD key length in bytes.
pub(crate) const KEY_LEN: usize = 32;
/// XChaCha20 nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 24;
/// Poly1305 tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// The message was not authentic (or, when sealing, too long for the cipher).
#[derive(Debug)]
pub(crate) struct AeadError;

#[cfg(feature = "ring")]
pub(crate) use ring_backend::AeadKey;
#[cfg(all(feature = "pure-rust", not(feature = "ring")))]
pub(crate) use rustcrypto_backend::AeadKey;

#[cfg(feature = "ring")]
mod ring_backend {
    use zeroize::Zeroizing;

    use super::{AeadError, KEY_LEN, NONCE_LEN, TAG_LEN};

    /// An XChaCha20-Poly1305 key, set up once and used for every message.
    pub(crate) struct AeadKey {
        key: Zeroizing<[u8; KEY_LEN]>,
    }

    impl AeadKey {
        /// Sets up the key. The bytes are copied; the caller keeps (and zeroizes) its own.
        pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
            Self {
                key: Zeroizing::new(*key),
            }
        }

        /// Encrypts `buf` in place and returns the tag.
        pub(crate) fn seal_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Result<[u8; TAG_LEN], AeadError> {
            let (subkey, ietf_nonce) = message_key(&self.key, nonce)?;
            let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &subkey[..])
                .map_err(|_| AeadError)?;
            let tag = ring::aead::LessSafeKey::new(key)
                .seal_in_place_separate_tag(ietf_nonce, ring::aead::Aad::from(aad), buf)
                .map_err(|_| AeadError)?;
            let mut out = [0; TAG_LEN];
            out.copy_from_slice(tag.as_ref());
            Ok(out)
        }

        /// Verifies `tag` over `buf` and, only if it is authentic, decrypts `buf` in place.
        /// The tag comparison is constant-time (done by ring).
        pub(crate) fn open_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), AeadError> {
            let (subkey, ietf_nonce) = message_key(&self.key, nonce)?;
            let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &subkey[..])
                .map_err(|_| AeadError)?;
            ring::aead::LessSafeKey::new(key)
                .open_in_place_separate_tag(
                    ietf_nonce,
                    ring::aead::Aad::from(aad),
                    ring::aead::Tag::from(*tag),
                    buf,
                    0..,
                )
                .map(|_| ())
                .map_err(|_| AeadError)
        }
    }

    /// draft-irtf-cfrg-xchacha-03 §2.3.1: the per-message subkey
    /// `HChaCha20(key, nonce[0..16])` and the IETF nonce `[0; 4] ‖ nonce[16..24]`.
    /// (The ring key is built by the caller, where it is used: ring's key type is large,
    /// and returning it costs copies.)
    fn message_key(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
    ) -> Result<(Zeroizing<[u8; KEY_LEN]>, ring::aead::Nonce), AeadError> {
        let (hchacha_input, tail) = nonce.split_at(16);
        let hchacha_input: [u8; 16] = hchacha_input.try_into().map_err(|_| AeadError)?;
        let subkey = Zeroizing::new(<[u8; KEY_LEN]>::from(chacha20::hchacha::<chacha20::R20>(
            &(*key).into(),
            &hchacha_input.into(),
        )));
        let mut ietf_nonce = [0u8; 12];
        ietf_nonce
            .get_mut(4..)
            .ok_or(AeadError)?
            .copy_from_slice(tail);
        Ok((subkey, ring::aead::Nonce::assume_unique_for_key(ietf_nonce)))
    }
}

#[cfg(feature = "pure-rust")]
#[cfg_attr(feature = "ring", allow(dead_code))]
mod rustcrypto_backend {
    use chacha20poly1305::aead::AeadInOut as _;
    use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305};

    use super::{AeadError, KEY_LEN, NONCE_LEN, TAG_LEN};

    /// An XChaCha20-Poly1305 key, set up once and used for every message.
    pub(crate) struct AeadKey {
        cipher: XChaCha20Poly1305,
    }

    impl AeadKey {
        /// Sets up the key (zeroized on drop by the cipher, feature `zeroize`).
        pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
            Self {
                cipher: XChaCha20Poly1305::new(&(*key).into()),
            }
        }

        /// Encrypts `buf` in place and returns the tag.
        pub(crate) fn seal_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Result<[u8; TAG_LEN], AeadError> {
            let tag = self
                .cipher
                .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
                .map_err(|_| AeadError)?;
            Ok(tag.into())
        }

        /// Verifies `tag` over `buf` and, only if it is authentic, decrypts `buf` in place.
        pub(crate) fn open_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), AeadError> {
            self.cipher
                .decrypt_inout_detached(&(*nonce).into(), aad, buf.into(), &(*tag).into())
                .map_err(|_| AeadError)
        }
    }
}

#[cfg(test)]
mod tests {
    const KEY: &str = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
    const NONCE: &str = "404142434445464748494a4b4c4d4e4f5051525354555657";
    const AAD: &str = "50515253c0c1c2c3c4c5c6c7";
    const PLAINTEXT: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you \
only one tip for the future, sunscreen would be it.";
    const CIPHERTEXT: &str = concat!(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
        "21f9664c97637da9768812f615c68b13b52e",
    );
    const TAG: &str = "c0875924c1c7987947deafd8780acf49";

    fn array<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    /// draft-irtf-cfrg-xchacha-03, Appendix A.3.1, through one backend's `AeadKey`.
    macro_rules! a_3_1 {
        ($test:ident, $key:ty) => {
            #[test]
            fn $test() {
                let (key, nonce, tag) = (array(KEY), array(NONCE), array::<16>(TAG));
                let aad = hex::decode(AAD).unwrap();
                let aead = <$key>::new(&key);
                let mut buf = PLAINTEXT.to_vec();
                assert_eq!(aead.seal_in_place(&nonce, &aad, &mut buf).unwrap(), tag);
                assert_eq!(hex::encode(&buf), CIPHERTEXT);

                aead.open_in_place(&nonce, &aad, &mut buf, &tag).unwrap();
                assert_eq!(buf, PLAINTEXT);

                let ciphertext = hex::decode(CIPHERTEXT).unwrap();
                let mut bad_tag = tag;
                bad_tag[15] ^= 1;
                let mut buf = ciphertext.clone();
                assert!(
                    aead.open_in_place(&nonce, &aad, &mut buf, &bad_tag)
                        .is_err()
                );
                let mut buf = ciphertext.clone();
                assert!(
                    aead.open_in_place(&nonce, b"other aad", &mut buf, &tag)
                        .is_err()
                );
                let mut bad_nonce = nonce;
                bad_nonce[0] ^= 1;
                let mut buf = ciphertext;
                assert!(
                    aead.open_in_place(&bad_nonce, &aad, &mut buf, &tag)
                        .is_err()
                );
            }
        };
    }

    #[cfg(feature = "ring")]
    a_3_1!(
        ring_backend_matches_draft_a_3_1,
        super::ring_backend::AeadKey
    );
    #[cfg(feature = "pure-rust")]
    a_3_1!(
        rustcrypto_backend_matches_draft_a_3_1,
        super::rustcrypto_backend::AeadKey
    );

    /// Each backend opens what the other sealed, for every length up to a few blocks.
    #[cfg(all(feature = "ring", feature = "pure-rust"))]
    #[test]
    fn backends_cross_open() {
        let key = [7u8; 32];
        let ring = super::ring_backend::AeadKey::new(&key);
        let reference = super::rustcrypto_backend::AeadKey::new(&key);
        for len in 0..300 {
            let nonce = [len as u8; 24];
            let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut a = plaintext.clone();
            let tag_a = ring.seal_in_place(&nonce, b"aad", &mut a).unwrap();
            let mut b = plaintext.clone();
            let tag_b = reference.seal_in_place(&nonce, b"aad", &mut b).unwrap();
            assert_eq!((&a, tag_a), (&b, tag_b), "len {len}");
            reference
                .open_in_place(&nonce, b"aad", &mut a, &tag_a)
                .unwrap();
            ring.open_in_place(&nonce, b"aad", &mut b, &tag_b).unwrap();
            assert_eq!(a, plaintext);
            assert_eq!(b, plaintext);
        }
    }
}
