//! AWS Signature Version 4: reading the credential scope (access key, region,
//! service) of the `Authorization` header or of a presigned URL's
//! `X-Amz-Credential`, and, with `--auth`, verifying the signature against the
//! known keys: canonical request, string to sign, derived signing key, HMAC.
//!
//! S3's `aws-chunked` uploads are verified by their seed signature (the headers);
//! the per-chunk signatures are not checked.

use std::collections::HashMap;

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// `AKID/20260101/us-east-1/sqs/aws4_request`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

fn parse_credential(credential: &str) -> Option<Scope> {
    let mut parts = credential.split('/');
    let access_key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some(Scope {
        access_key,
        region,
        service,
    })
}

/// The scope of a signed request, if it is signed.
pub fn scope(headers: &HeaderMap, query: Option<&str>) -> Option<Scope> {
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?;
        let credential = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("Credential="))?;
        return parse_credential(credential);
    }
    let query = query?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")
        .and_then(|(_, v)| parse_credential(&v))
}

/// Why a request's signature is refused, as AWS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// The code for SQS and SNS (S3 has its own names, [`AuthError::s3_code`]).
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl AuthError {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        AuthError {
            code,
            status,
            message: message.into(),
        }
    }

    /// S3's name for the same problem.
    pub fn s3_code(&self) -> &'static str {
        match self.code {
            "InvalidClientTokenId" => "InvalidAccessKeyId",
            "MissingAuthenticationToken" => "AccessDenied",
            "RequestExpired" => "AccessDenied",
            other => other,
        }
    }
}

/// The keys a server with `--auth` accepts: access key id → secret.
#[derive(Clone, Default)]
pub struct Keys(HashMap<String, String>);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Keys {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Keys(pairs.into_iter().collect())
    }

    /// One `ACCESS_KEY SECRET` pair a line; blank lines and `#` comments skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some(secret), None) => {
                    keys.insert(id.to_owned(), secret.to_owned());
                }
                _ => return Err(format!("line {}: expected `ACCESS_KEY SECRET`", n + 1)),
            }
        }
        if keys.is_empty() {
            return Err("no keys".into());
        }
        Ok(Keys(keys))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// RFC 3986 encoding as SigV4 wants it (unreserved characters kept).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` → milliseconds since the epoch.
fn parse_amz_date(date: &str) -> Option<u64> {
    let b = date.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| date.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Days from civil (proleptic Gregorian).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// What a request must show to be verified.
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path as it came on the wire (percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub now_ms: u64,
}

const ALLOWED_SKEW_MS: u64 = 15 * 60 * 1000;

impl Keys {
    /// Verifies a request's signature (header or presigned query).
    pub fn verify(&self, req: &Signed) -> Result<Scope, AuthError> {
        let header_auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let query_pairs: Vec<(String, String)> = req
            .query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    super::percent_decode(k, true),
                    super::percent_decode(v, true),
                )
            })
            .collect();
        let q = |name: &str| {
            query_pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let presigned = header_auth.is_none() && q("X-Amz-Signature").is_some();
        let (credential, signed_headers, signature, date, expires) = if let Some(auth) = header_auth
        {
            let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") else {
                return Err(AuthError::new(
                    "IncompleteSignature",
                    400,
                    "Only AWS4-HMAC-SHA256 signatures are supported.",
                ));
            };
            let field = |name: &str| {
                rest.split(',')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix(name))
                    .map(str::to_owned)
            };
            let (Some(c), Some(h), Some(s)) = (
                field("Credential="),
                field("SignedHeaders="),
                field("Signature="),
            ) else {
                return Err(AuthError::new(
                    "IncompleteSignature",
                    400,
                    format!(
                        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={auth}"
                    ),
                ));
            };
            let date = req
                .headers
                .get("x-amz-date")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| AuthError::new("IncompleteSignature", 400, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))?;
            (c, h, s, date, None)
        } else if presigned {
            let (Some(c), Some(h), Some(s), Some(d)) = (
                q("X-Amz-Credential"),
                q("X-Amz-SignedHeaders"),
                q("X-Amz-Signature"),
                q("X-Amz-Date"),
            ) else {
                return Err(AuthError::new(
                    "IncompleteSignature",
                    400,
                    "The presigned URL lacks X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Signature or X-Amz-Date.",
                ));
            };
            let expires = q("X-Amz-Expires").and_then(|e| e.parse::<u64>().ok());
            (c, h, s, d, expires)
        } else {
            return Err(AuthError::new(
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            ));
        };
        let scope = parse_credential(&credential).ok_or_else(|| {
            AuthError::new(
                "IncompleteSignature",
                400,
                format!("Credential should be scoped to a valid region, not '{credential}'."),
            )
        })?;
        let secret = self.0.get(&scope.access_key).ok_or_else(|| {
            AuthError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            )
        })?;
        let signed_at = parse_amz_date(&date).ok_or_else(|| {
            AuthError::new(
                "IncompleteSignature",
                400,
                format!("Date must be in ISO-8601 'basic format'. Got '{date}'."),
            )
        })?;
        match expires {
            Some(expires) => {
                if req.now_ms > signed_at + expires * 1000
                    || signed_at > req.now_ms + ALLOWED_SKEW_MS
                {
                    return Err(AuthError::new("RequestExpired", 403, "Request has expired"));
                }
            }
            None => {
                if req.now_ms.abs_diff(signed_at) > ALLOWED_SKEW_MS {
                    return Err(AuthError::new(
                        "SignatureDoesNotMatch",
                        403,
                        format!(
                            "Signature expired: {date} is now earlier or later than the allowed 15 minutes around the server's time."
                        ),
                    ));
                }
            }
        }
        // Canonical request.
        let canonical_path = if scope.service == "s3" {
            req.path.to_owned()
        } else {
            uri_encode(&super::percent_decode(req.path, false), true)
        };
        let mut pairs: Vec<(String, String)> = query_pairs
            .iter()
            .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
            .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
            .collect();
        pairs.sort();
        let canonical_query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut canonical_headers = String::new();
        for name in signed_headers.split(';') {
            let values: Vec<String> = req
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            canonical_headers.push_str(&values.join(","));
            canonical_headers.push('\n');
        }
        let payload_hash = match req
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
        {
            Some(h) => h.to_owned(),
            None if presigned && scope.service == "s3" => "UNSIGNED-PAYLOAD".to_owned(),
            None => hex::encode(Sha256::digest(req.body)),
        };
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method,
            canonical_path,
            canonical_query,
            canonical_headers,
            signed_headers,
            payload_hash
        );
        let credential_scope = credential.split_once('/').map_or("", |(_, rest)| rest);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{credential_scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut parts = credential_scope.split('/');
        let day = parts.next().unwrap_or_default();
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
        let k_region = hmac(&k_date, scope.region.as_bytes());
        let k_service = hmac(&k_region, scope.service.as_bytes());
        let k_signing = hmac(&k_service, b"aws4_request");
        let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
        // Compare in constant time.
        let matches = expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !matches {
            tracing::debug!(%canonical, "signature mismatch");
            return Err(AuthError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ));
        }
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (IAM ListUsers, the "get-vanilla"-style request).
    #[test]
    fn verifies_aws_documented_example() {
        let keys = Keys::new([(
            "AKIDEXAMPLE".to_owned(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
        )]);
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let now = parse_amz_date("20150830T123700Z").unwrap();
        let request = Signed {
            method: "GET",
            path: "/",
            query: Some("Action=ListUsers&Version=2010-05-08"),
            headers: &headers,
            body: b"",
            now_ms: now,
        };
        let scope = keys.verify(&request).unwrap();
        assert_eq!(scope.service, "iam");
        let wrong = Keys::new([("AKIDEXAMPLE".to_owned(), "not-the-secret".to_owned())]);
        assert_eq!(
            wrong.verify(&request).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        let unknown = Keys::new([("OTHER".to_owned(), "x".to_owned())]);
        assert_eq!(
            unknown.verify(&request).unwrap_err().code,
            "InvalidClientTokenId"
        );
        let late = Signed {
            now_ms: now + 20 * 60 * 1000,
            ..request
        };
        assert_eq!(
            keys.verify(&late).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        let mut bare = HeaderMap::new();
        bare.insert("host", "x".parse().unwrap());
        let unsigned = Signed {
            method: "GET",
            path: "/",
            query: None,
            headers: &bare,
            body: b"",
            now_ms: now,
        };
        assert_eq!(
            keys.verify(&unsigned).unwrap_err().code,
            "MissingAuthenticationToken"
        );
    }

    #[test]
    fn key_files() {
        let keys = Keys::parse("# ours\nAKID1 secret1\n\nAKID2 secret2\n").unwrap();
        assert_eq!(keys.len(), 2);
        assert!(Keys::parse("just-one-field").is_err());
        assert_eq!(parse_amz_date("19700101T000001Z"), Some(1000));
    }

    #[test]
    fn reads_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        let scope = scope(&headers, None).unwrap();
        assert_eq!(scope.region, "eu-west-1");
        assert_eq!(scope.service, "sqs");
        assert_eq!(scope.access_key, "AKIDEXAMPLE");
        assert!(super::scope(&HeaderMap::new(), None).is_none());
    }
}
