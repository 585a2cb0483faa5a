//! Cookie attributes and session lifetimes: the layer's configuration, its validation, and
//! the `Set-Cookie` strings prepared once from it.

use std::borrow::Cow;

use cookie::{Cookie, SameSite};
use http::HeaderValue;
use time::{Duration, OffsetDateTime};
use tower_sessions_core::Expiry;

use crate::backends::revocation::{RevocationConfig, StoreHandle};
use crate::error::ConfigError;

/// Browsers accept a cookie whose `Set-Cookie` (name, value and attributes) is at most this
/// many bytes; the layer never emits a longer one, whatever the budget.
pub const MAX_SET_COOKIE_LEN: usize = 4096;

/// The default size budget of one `Set-Cookie` header value the layer emits: 3 KiB.
///
/// A default nginx (`proxy_buffer_size 4k` on x86-64 Linux, and ingress-nginx's default
/// `proxy-buffer-size: 4k`) answers `502 upstream sent too big header` when the whole
/// response header block, status line included, exceeds 4096 bytes. 3072 bytes for the
/// session cookie leaves about 1 KB for the status line and the other response headers
/// (content type and length, date, `Vary`, `Cache-Control`, security headers).
pub const DEFAULT_COOKIE_BUDGET: usize = 3072;

/// The default budget for the session's cookies in the `Cookie` header the browser sends
/// back (all chunks, `name=value` pairs and separators): 7 KiB, under the common 8 KB
/// request-header limits (nginx `large_client_header_buffers 4 8k`, Apache
/// `LimitRequestFieldSize 8190`, S3 behind CloudFront 8192) with room for the site's other
/// cookies.
pub const DEFAULT_REQUEST_COOKIE_BUDGET: usize = 7168;

/// The most cookies a session may be chunked over ([`with_chunks`](crate::SessionManagerLayer::with_chunks)).
pub const MAX_CHUNKS: usize = 4;

/// The smallest budget accepted: below it no session fits.
const MIN_COOKIE_BUDGET: usize = 512;
/// The share of the budget from which the layer warns (once) that sessions are close.
pub(crate) const NEAR_BUDGET: f64 = 0.9;

/// Sealed lifetime of an `Expiry::OnSessionEnd` session (the cookie itself has no Max-Age).
pub(crate) const DEFAULT_SESSION_END_LIFETIME: Duration = Duration::weeks(2);
/// Default share of an `OnInactivity` window after which activity re-issues the cookie.
pub(crate) const DEFAULT_REFRESH_AFTER: f64 = 0.25;
/// Browsers cap cookie lifetimes at 400 days (RFC 6265bis §5.5); Max-Age never says more.
const MAX_AGE_CAP: Duration = Duration::days(400);

/// Everything configurable on the layer.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) name: Cow<'static, str>,
    pub(crate) path: Cow<'static, str>,
    pub(crate) domain: Option<Cow<'static, str>>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) expiry: Option<Expiry>,
    pub(crate) always_save: bool,
    pub(crate) session_end_lifetime: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) refresh_after: f64,
    pub(crate) revocation: RevocationConfig,
    /// Where sessions too large for the cookie go.
    pub(crate) overflow: Option<StoreHandle>,
    /// The largest `Set-Cookie` header value emitted.
    pub(crate) budget: usize,
    /// The most cookies one session is carried in (1: no chunking).
    pub(crate) chunks: usize,
    /// The largest total of the session's cookies in the `Cookie` header.
    pub(crate) request_budget: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: Cow::Borrowed("id"),
            path: Cow::Borrowed("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Strict,
            expiry: None,
            always_save: false,
            session_end_lifetime: DEFAULT_SESSION_END_LIFETIME,
            max_lifetime: None,
            refresh_after: DEFAULT_REFRESH_AFTER,
            revocation: RevocationConfig::default(),
            overflow: None,
            budget: DEFAULT_COOKIE_BUDGET,
            chunks: 1,
            request_budget: DEFAULT_REQUEST_COOKIE_BUDGET,
        }
    }
}

impl Config {
    /// Checks the configuration as browsers will judge the cookie, and prepares the
    /// `Set-Cookie` strings.
    pub(crate) fn compile(&self) -> Result<CookieTemplate, ConfigError> {
        let name = &*self.name;
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ConfigError::new(format!(
                "cookie name {name:?} is not a valid cookie name (a non-empty token without \
                 separators, spaces or control characters)"
            )));
        }
        if !self.path.starts_with('/') || !self.path.bytes().all(is_attribute_byte) {
            return Err(ConfigError::new(format!(
                "cookie path {:?} must start with '/' and hold no ';' or control characters",
                self.path
            )));
        }
        if let Some(domain) = &self.domain
            && (domain.is_empty() || !domain.bytes().all(|b| is_attribute_byte(b) && b != b' '))
        {
            return Err(ConfigError::new(format!(
                "cookie domain {domain:?} must be non-empty and hold no ';', spaces or \
                 control characters"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("__host-")
            && (!self.secure || self.path != "/" || self.domain.is_some())
        {
            return Err(ConfigError::new(format!(
                "cookie name {name:?} has the __Host- prefix, which browsers accept only with \
                 Secure, Path=/ and no Domain"
            )));
        }
        if lower.starts_with("__secure-") && !self.secure {
            return Err(ConfigError::new(format!(
                "cookie name {name:?} has the __Secure- prefix, which browsers accept only \
                 with Secure"
            )));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(ConfigError::new(
                "SameSite=None requires Secure; browsers drop such cookies".to_owned(),
            ));
        }
        if let Some(Expiry::OnInactivity(window)) = self.expiry
            && !window.is_positive()
        {
            return Err(ConfigError::new(format!(
                "Expiry::OnInactivity({window}) must be a positive duration"
            )));
        }
        if !self.session_end_lifetime.is_positive() {
            return Err(ConfigError::new(format!(
                "session-end lifetime {} must be positive",
                self.session_end_lifetime
            )));
        }
        if let Some(max) = self.max_lifetime
            && !max.is_positive()
        {
            return Err(ConfigError::new(format!(
                "maximum lifetime {max} must be positive"
            )));
        }
        if !(0.0..=1.0).contains(&self.refresh_after) {
            return Err(ConfigError::new(format!(
                "refresh share {} must be between 0.0 and 1.0",
                self.refresh_after
            )));
        }
        if !(MIN_COOKIE_BUDGET..=MAX_SET_COOKIE_LEN).contains(&self.budget) {
            return Err(ConfigError::new(format!(
                "cookie budget {} must be between {MIN_COOKIE_BUDGET} and \
                 {MAX_SET_COOKIE_LEN} bytes (browsers drop longer cookies)",
                self.budget
            )));
        }
        if !(1..=MAX_CHUNKS).contains(&self.chunks) {
            return Err(ConfigError::new(format!(
                "chunk count {} must be between 1 and {MAX_CHUNKS}",
                self.chunks
            )));
        }
        if self.request_budget < self.budget {
            return Err(ConfigError::new(format!(
                "request cookie budget {} must be at least the cookie budget {}",
                self.request_budget, self.budget
            )));
        }
        CookieTemplate::new(self)
    }

    /// The expiry date sealed into a session saved at `now` whose id was issued at
    /// `created_at`: from the expiry kind, capped by the absolute lifetime.
    pub(crate) fn sealed_expiry(
        &self,
        expiry: Option<Expiry>,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        let date = match expiry {
            Some(Expiry::OnInactivity(window)) => now.saturating_add(window),
            Some(Expiry::AtDateTime(at)) => at,
            Some(Expiry::OnSessionEnd) | None => now.saturating_add(self.session_end_lifetime),
        };
        match self.lifetime_end(created_at) {
            Some(end) => date.min(end),
            None => date,
        }
    }

    /// When a session whose id was issued at `created_at` ends regardless of activity.
    pub(crate) fn lifetime_end(&self, created_at: OffsetDateTime) -> Option<OffsetDateTime> {
        self.max_lifetime.map(|max| created_at.saturating_add(max))
    }

    /// The cookie's Max-Age: none for `OnSessionEnd` (a browser-session cookie), otherwise
    /// the time until the sealed expiry, never negative and at most 400 days.
    pub(crate) fn max_age(
        expiry: Option<Expiry>,
        sealed_expiry: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Option<Duration> {
        match expiry {
            Some(Expiry::OnSessionEnd) | None => None,
            Some(Expiry::OnInactivity(_) | Expiry::AtDateTime(_)) => {
                Some((sealed_expiry - now).clamp(Duration::ZERO, MAX_AGE_CAP))
            }
        }
    }
}

/// The `Set-Cookie` strings, prepared once: `name=` + value + attributes (+ Max-Age), and
/// the whole removal header.
#[derive(Debug, Clone)]
pub(crate) struct CookieTemplate {
    /// `name=`
    prefix: String,
    /// `; HttpOnly; SameSite=Strict; Secure; Path=/` (and Domain).
    attributes: String,
    /// The removal cookie: empty value, same attributes, `Max-Age=0` and an Expires in 1970.
    pub(crate) removal: HeaderValue,
    /// With chunking: `name.1=`, `name.2=`, ... up to the configured count.
    chunk_prefixes: Vec<String>,
    /// Their removal cookies.
    pub(crate) chunk_removals: Vec<HeaderValue>,
}

impl CookieTemplate {
    fn new(config: &Config) -> Result<Self, ConfigError> {
        let build = || {
            let mut cookie = Cookie::build((config.name.to_string(), ""))
                .path(config.path.to_string())
                .http_only(config.http_only)
                .secure(config.secure)
                .same_site(config.same_site);
            if let Some(domain) = &config.domain {
                cookie = cookie.domain(domain.to_string());
            }
            cookie
        };
        let prefix = format!("{}=", config.name);
        let full = build().to_string();
        let attributes = full.get(prefix.len()..).unwrap_or_default().to_owned();
        let removal = build()
            .max_age(Duration::ZERO)
            .expires(OffsetDateTime::UNIX_EPOCH)
            .to_string();
        let removal_text = removal;
        let removal = HeaderValue::try_from(removal_text.clone()).map_err(|_| {
            ConfigError::new("the cookie attributes do not form a valid header".to_owned())
        })?;
        // Chunk cookies: the same attributes under `name.1`, `name.2`, ...
        let removal_attributes = removal_text.get(prefix.len()..).unwrap_or_default();
        let mut chunk_prefixes = Vec::new();
        let mut chunk_removals = Vec::new();
        for index in 1..config.chunks {
            let name = crate::middleware::chunks::chunk_name(&config.name, index);
            chunk_removals.push(
                HeaderValue::try_from(format!("{name}={removal_attributes}")).map_err(|_| {
                    ConfigError::new("the cookie attributes do not form a valid header".to_owned())
                })?,
            );
            chunk_prefixes.push(format!("{name}="));
        }
        Ok(Self {
            prefix,
            attributes,
            removal,
            chunk_prefixes,
            chunk_removals,
        })
    }

    /// What the `Set-Cookie` of cookie `index` starts with: `name=` for the base cookie
    /// (0), `name.i=` for chunk `i`; none past the chunk cap.
    pub(crate) fn chunk_prefix(&self, index: usize) -> Option<&str> {
        match index.checked_sub(1) {
            None => Some(&self.prefix),
            Some(chunk) => self.chunk_prefixes.get(chunk).map(String::as_str),
        }
    }

    /// The length of the attributes (and Max-Age) [`CookieTemplate::finish`] appends for
    /// `max_age`.
    pub(crate) fn suffix_len_for(&self, max_age: Option<Duration>) -> usize {
        self.attributes.len()
            + max_age.map_or(0, |age| "; Max-Age=".len() + digits(age.whole_seconds()))
    }

    /// `name=`, what a `Set-Cookie` of the session cookie starts with.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The length of `name=`.
    pub(crate) fn prefix_len(&self) -> usize {
        self.prefix.len()
    }

    /// Appends the attributes (and Max-Age) to a header that holds `name=value` (or a
    /// chunk's `name.i=part`).
    pub(crate) fn finish(&self, header: &mut Vec<u8>, max_age: Option<Duration>) {
        header.extend_from_slice(self.attributes.as_bytes());
        if let Some(max_age) = max_age {
            header.extend_from_slice(b"; Max-Age=");
            header.extend_from_slice(
                itoa::Buffer::new()
                    .format(max_age.whole_seconds())
                    .as_bytes(),
            );
        }
    }

    /// The `Set-Cookie` header for `value`.
    #[cfg(test)]
    pub(crate) fn set_cookie(&self, value: &str, max_age: Option<Duration>) -> String {
        let mut header = self.prefix.as_bytes().to_vec();
        header.extend_from_slice(value.as_bytes());
        self.finish(&mut header, max_age);
        String::from_utf8(header).unwrap_or_default()
    }

    /// The cookie value inside a header made by [`CookieTemplate::set_cookie`].
    pub(crate) fn value_of<'h>(&self, header: &'h [u8]) -> Option<&'h [u8]> {
        let rest = header.get(self.prefix.len()..)?;
        rest.split(|b| *b == b';').next()
    }
}

/// The number of characters of `n` in decimal.
fn digits(n: i64) -> usize {
    let mut len = usize::from(n < 0) + 1;
    let mut rest = n.unsigned_abs() / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    len
}

/// RFC 6265 `token` characters (cookie names).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// Characters allowed in Path and Domain values.
fn is_attribute_byte(b: u8) -> bool {
    (b == b' ' || b.is_ascii_graphic()) && b != b';'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matches_the_cookie_crate() {
        let config = Config {
            domain: Some("example.com".into()),
            ..Config::default()
        };
        let template = config.compile().unwrap();
        assert_eq!(
            template.set_cookie("v", Some(Duration::seconds(5))),
            "id=v; HttpOnly; SameSite=Strict; Secure; Path=/; Domain=example.com; Max-Age=5"
        );
        assert_eq!(
            template.removal,
            "id=; HttpOnly; SameSite=Strict; Secure; Path=/; Domain=example.com; Max-Age=0; \
             Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(template.value_of(b"id=abc; Path=/"), Some(&b"abc"[..]));
    }

    #[test]
    fn bad_configurations_are_named() {
        let bad = [
            Config {
                name: "a b".into(),
                ..Config::default()
            },
            Config {
                name: "".into(),
                ..Config::default()
            },
            Config {
                path: "app".into(),
                ..Config::default()
            },
            Config {
                domain: Some("a;b".into()),
                ..Config::default()
            },
            Config {
                name: "__Host-x".into(),
                path: "/app".into(),
                ..Config::default()
            },
            Config {
                name: "__Host-x".into(),
                domain: Some("a.b".into()),
                ..Config::default()
            },
            Config {
                name: "__Secure-x".into(),
                secure: false,
                ..Config::default()
            },
            Config {
                same_site: SameSite::None,
                secure: false,
                ..Config::default()
            },
            Config {
                refresh_after: 1.5,
                ..Config::default()
            },
            Config {
                refresh_after: f64::NAN,
                ..Config::default()
            },
            Config {
                max_lifetime: Some(Duration::ZERO),
                ..Config::default()
            },
            Config {
                expiry: Some(Expiry::OnInactivity(Duration::ZERO)),
                ..Config::default()
            },
        ];
        for config in bad {
            assert!(config.compile().is_err(), "{config:?}");
        }
        assert!(
            Config {
                name: "__Host-id".into(),
                ..Config::default()
            }
            .compile()
            .is_ok()
        );
    }
}
