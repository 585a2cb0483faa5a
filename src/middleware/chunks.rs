//! Chunking: one sealed value carried over several cookies when it does not fit in one
//! (opt-in, [`with_chunks`](crate::SessionManagerLayer::with_chunks)).
//!
//! ```text
//! name     = COUNT "." part0        COUNT: one digit, 2..=the configured cap
//! name.1   = part1
//! ...
//! name.(COUNT-1) = part(COUNT-1)
//! value    = part0 ‖ part1 ‖ ... ‖ part(COUNT-1)   (the whole sealed value, opened once)
//! ```
//!
//! The value is sealed once (format and AAD as for one cookie, under the base name), then
//! cut. The base cookie says how many parts to read, so leftover chunks of an earlier write
//! are never read; a sealed value is unpadded base64url, which has no `.`, so a base cookie
//! is chunked exactly when it holds one. Parts of different writes, missing, extra or
//! reordered parts, or parts set for another path or domain do not reassemble into a value
//! that opens (the AEAD tag covers the whole value), so any such mix is a fresh session,
//! never a mixed record. The chunk names keep the base name in front, so `__Host-` and
//! `__Secure-` prefixes hold for every chunk.
//!
//! Every write sets the chunks it uses and removes every other index up to the cap (a fixed
//! range: another tab may have written more chunks than this request saw); removal removes
//! all of them.

/// The name of chunk `index` (1-based) of the cookie `base`.
pub(crate) fn chunk_name(base: &str, index: usize) -> String {
    format!("{base}.{index}")
}

/// The count and first part of a chunked base cookie value, or `None` if the value is not
/// chunked (no `.`). A malformed count is `Some((0, _))`, which nothing accepts.
pub(crate) fn parse_base(value: &[u8]) -> Option<(usize, &[u8])> {
    let dot = memchr::memchr(b'.', value)?;
    let (count, rest) = value.split_at(dot);
    let part = rest.get(1..).unwrap_or_default();
    let count = match count {
        [digit @ b'2'..=b'9'] => usize::from(digit - b'0'),
        _ => 0,
    };
    Some((count, part))
}

/// Cuts `value` into parts that fit in `room[i]` characters each (`room[0]` for the base
/// cookie, after its `COUNT.` prefix), using as few parts as possible; `None` if
/// `room.len()` parts are not enough.
pub(crate) fn split<'v>(value: &'v [u8], room: &[usize]) -> Option<Vec<&'v [u8]>> {
    let mut parts = Vec::with_capacity(room.len());
    let mut rest = value;
    for (index, &fits) in room.iter().enumerate() {
        // The base cookie gives two characters to "COUNT.".
        let fits = if index == 0 {
            fits.checked_sub(2)?
        } else {
            fits
        };
        if fits == 0 {
            return None;
        }
        let cut = rest.len().min(fits);
        // Base64url is ASCII: a byte is a character, so any cut is one between characters.
        let (part, tail) = rest.split_at_checked(cut)?;
        parts.push(part);
        rest = tail;
        if rest.is_empty() {
            return (parts.len() >= 2).then_some(parts);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_values() {
        assert_eq!(parse_base(b"AbC-_"), None);
        assert_eq!(parse_base(b"2.AbC"), Some((2, &b"AbC"[..])));
        assert_eq!(parse_base(b"4."), Some((4, &b""[..])));
        for bad in [&b"1.x"[..], b"0.x", b"12.x", b".x", b"a.x"] {
            assert_eq!(parse_base(bad).map(|(count, _)| count), Some(0), "{bad:?}");
        }
    }

    #[test]
    fn split_uses_as_few_parts_as_fit() {
        let value = b"abcdefghij";
        assert_eq!(split(value, &[6, 6]), Some(vec![&b"abcd"[..], b"efghij"]));
        assert_eq!(
            split(value, &[7, 3, 5]),
            Some(vec![&b"abcde"[..], b"fgh", b"ij"])
        );
        assert_eq!(split(value, &[6, 3]), None, "does not fit in two");
        assert_eq!(split(value, &[20, 5]), None, "fits in one: not chunked");
        assert_eq!(split(value, &[2, 20]), None, "the base has no room");
        let parts = split(value, &[5, 4, 4]).unwrap();
        assert_eq!(parts.concat(), value);
    }
}
