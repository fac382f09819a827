//! S3, the subset the system needs, over S3's REST protocol: path-style
//! (`/bucket/key`) and virtual-hosted-style (`bucket.localhost:4566/key`)
//! addressing, XML answers and errors, `aws-chunked` bodies (what current SDKs
//! send with checksums). [`engine`] keeps buckets and objects; this module maps
//! requests to its calls.
//!
//! Served: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
//! PutObject, GetObject (ranges), HeadObject, DeleteObject, DeleteObjects,
//! ListObjects (v1 and v2), CopyObject, and multipart uploads (Create, UploadPart,
//! Complete, Abort; uploads in progress live in memory).

pub mod engine;
pub mod error;

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;

pub use engine::S3;
pub use error::{S3Error, S3Result};

use crate::protocol::query::escape;
use crate::time::{http_date, iso8601};

const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// One REST request, addressed.
#[derive(Debug)]
pub struct RestRequest {
    pub method: Method,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub region: String,
}

/// Percent-encodes a key for a URL path (slashes kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The bucket and key a request names: from a `<bucket>.localhost` or
/// `<bucket>.s3.<...>` host, else from the path.
pub fn address(host: Option<&str>, path: &str) -> (Option<String>, Option<String>) {
    let hostname = host.map(|h| {
        h.rsplit_once(':').map_or(h, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                h
            }
        })
    });
    let virtual_bucket = hostname.and_then(|h| {
        h.strip_suffix(".localhost")
            .or_else(|| h.find(".s3.").map(|i| &h[..i]))
            .or_else(|| h.find(".s3-").map(|i| &h[..i]))
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
    });
    let path = path.strip_prefix('/').unwrap_or(path);
    match virtual_bucket {
        Some(bucket) => {
            let key = (!path.is_empty()).then(|| crate::protocol::percent_decode(path, false));
            (Some(bucket), key)
        }
        None => {
            if path.is_empty() {
                return (None, None);
            }
            match path.split_once('/') {
                Some((bucket, key)) if !key.is_empty() => (
                    Some(crate::protocol::percent_decode(bucket, false)),
                    Some(crate::protocol::percent_decode(key, false)),
                ),
                Some((bucket, _)) => (Some(crate::protocol::percent_decode(bucket, false)), None),
                None => (Some(crate::protocol::percent_decode(path, false)), None),
            }
        }
    }
}

/// Whether a request without `Action` or `X-Amz-Target` looks like S3 REST.
pub fn looks_like_s3(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    headers.contains_key("x-amz-content-sha256")
        || *method == Method::PUT
        || *method == Method::DELETE
        || *method == Method::HEAD
        || (path != "/" && path.matches('/').count() == 1)
        || (path != "/" && *method == Method::GET)
}

/// Headers sent after an `aws-chunked` body (checksums).
type Trailers = Vec<(String, String)>;

/// Decodes an `aws-chunked` body: `<hex size>[;ext]\r\n<data>\r\n ... 0\r\n<trailers>\r\n`.
/// Returns the data and the trailing headers.
fn decode_chunked(body: &[u8]) -> S3Result<(Vec<u8>, Trailers)> {
    let bad = || {
        S3Error::new(
            "IncompleteBody",
            400,
            "The request body is not valid aws-chunked encoding.",
        )
    };
    let mut data = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let line = std::str::from_utf8(&rest[..line_end]).map_err(|_| bad())?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            break;
        }
        if rest.len() < size + 2 {
            return Err(bad());
        }
        data.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    let mut trailers = Vec::new();
    for line in String::from_utf8_lossy(rest).split("\r\n") {
        if let Some((k, v)) = line.split_once(':') {
            trailers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Ok((data, trailers))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn has(query: &[(String, String)], name: &str) -> bool {
    query.iter().any(|(k, _)| k == name)
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", id);
    }
    response
}

fn empty(status: StatusCode, request_id: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amz-request-id", id);
    }
    response
}

fn el(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape(value, out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The stored request headers returned with an object.
const KEPT_HEADERS: [&str; 5] = [
    "content-encoding",
    "cache-control",
    "content-disposition",
    "content-language",
    "expires",
];

/// Runs one REST request.
pub async fn handle(s3: &S3, req: RestRequest, request_id: &str) -> Response {
    let head = req.method == Method::HEAD;
    match route(s3, req, request_id).await {
        Ok(response) => response,
        Err(err) => {
            if err.status >= 500 {
                tracing::error!(error = %err, "S3 request failed");
            }
            err.render(request_id, head)
        }
    }
}

fn not_implemented(what: &str) -> S3Error {
    S3Error::new(
        "NotImplemented",
        501,
        format!("{what} is not implemented by this endpoint."),
    )
}

async fn route(s3: &S3, req: RestRequest, request_id: &str) -> S3Result<Response> {
    let RestRequest {
        method,
        bucket,
        key,
        query,
        headers,
        body,
        region,
    } = req;
    let Some(bucket) = bucket else {
        return match method {
            Method::GET => Ok(list_buckets(s3, request_id)),
            _ => Err(S3Error::new(
                "MethodNotAllowed",
                405,
                "The specified method is not allowed against this resource.",
            )),
        };
    };
    if key.is_none() && has(&query, "uploads") {
        return Err(not_implemented("ListMultipartUploads"));
    }
    if key.is_some() && has(&query, "uploadId") && method == Method::GET {
        return Err(not_implemented("ListParts"));
    }
    for sub in [
        "tagging",
        "acl",
        "versioning",
        "policy",
        "lifecycle",
        "cors",
        "website",
        "versions",
        "notification",
        "encryption",
        "object-lock",
        "replication",
    ] {
        if has(&query, sub) {
            return Err(not_implemented(&format!("The ?{sub} subresource")));
        }
    }
    match key {
        None => match method {
            Method::PUT => {
                let wanted = std::str::from_utf8(&body).ok().and_then(|b| {
                    let start = b.find("<LocationConstraint>")? + "<LocationConstraint>".len();
                    let end = b[start..].find("</LocationConstraint>")? + start;
                    Some(b[start..end].trim().to_owned())
                });
                let region = wanted.filter(|r| !r.is_empty()).unwrap_or(region);
                s3.create_bucket(&bucket, &region).await?;
                let mut response = empty(StatusCode::OK, request_id);
                if let Ok(v) = HeaderValue::from_str(&format!("/{bucket}")) {
                    response.headers_mut().insert("location", v);
                }
                Ok(response)
            }
            Method::DELETE => {
                s3.delete_bucket(&bucket).await?;
                Ok(empty(StatusCode::NO_CONTENT, request_id))
            }
            Method::HEAD => {
                let region = s3.bucket_region(&bucket)?;
                let mut response = empty(StatusCode::OK, request_id);
                if let Ok(v) = HeaderValue::from_str(&region) {
                    response.headers_mut().insert("x-amz-bucket-region", v);
                }
                Ok(response)
            }
            Method::GET if has(&query, "location") => {
                let region = s3.bucket_region(&bucket)?;
                let mut out = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{XMLNS}\">"
                );
                if region != "us-east-1" {
                    escape(&region, &mut out);
                }
                out.push_str("</LocationConstraint>");
                Ok(xml(StatusCode::OK, out, request_id))
            }
            Method::GET => list_objects(s3, &bucket, &query, request_id),
            Method::POST if has(&query, "delete") => {
                delete_objects(s3, &bucket, &body, request_id).await
            }
            _ => Err(S3Error::new(
                "MethodNotAllowed",
                405,
                "The specified method is not allowed against this resource.",
            )),
        },
        Some(key) if has(&query, "uploads") || has(&query, "uploadId") => {
            multipart(
                s3, method, &bucket, &key, &query, &headers, body, request_id,
            )
            .await
        }
        Some(key) => match method {
            Method::PUT => match header(&headers, "x-amz-copy-source") {
                Some(source) => copy_object(s3, &bucket, &key, source, &headers, request_id).await,
                None => put_object(s3, &bucket, &key, &headers, body, request_id).await,
            },
            Method::GET => get_object(s3, &bucket, &key, &headers, request_id, false).await,
            Method::HEAD => get_object(s3, &bucket, &key, &headers, request_id, true).await,
            Method::DELETE => {
                s3.delete_object(&bucket, &key).await?;
                Ok(empty(StatusCode::NO_CONTENT, request_id))
            }
            _ => Err(S3Error::new(
                "MethodNotAllowed",
                405,
                "The specified method is not allowed against this resource.",
            )),
        },
    }
}

fn list_buckets(s3: &S3, request_id: &str) -> Response {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"{XMLNS}\"><Owner><ID>nextflix</ID><DisplayName>nextflix</DisplayName></Owner><Buckets>"
    );
    for (name, created) in s3.list_buckets() {
        out.push_str("<Bucket>");
        el(&mut out, "Name", &name);
        el(&mut out, "CreationDate", &iso8601(created));
        out.push_str("</Bucket>");
    }
    out.push_str("</Buckets></ListAllMyBucketsResult>");
    xml(StatusCode::OK, out, request_id)
}

fn list_objects(
    s3: &S3,
    bucket: &str,
    query: &[(String, String)],
    request_id: &str,
) -> S3Result<Response> {
    let v2 = param(query, "list-type") == Some("2");
    let prefix = param(query, "prefix").unwrap_or("");
    let delimiter = param(query, "delimiter").filter(|d| !d.is_empty());
    let url_encode = param(query, "encoding-type") == Some("url");
    let max_keys = match param(query, "max-keys") {
        None => 1000,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n.min(1000) as usize,
            _ => {
                return Err(S3Error::new(
                    "InvalidArgument",
                    400,
                    "Provided max-keys not an integer or within integer range",
                )
                .with("ArgumentName", "max-keys")
                .with("ArgumentValue", v));
            }
        },
    };
    let token = param(query, "continuation-token");
    let after: Option<String> = if v2 {
        match token {
            Some(t) => Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        S3Error::new(
                            "InvalidArgument",
                            400,
                            "The continuation token provided is incorrect",
                        )
                        .with("ArgumentName", "continuation-token")
                    })?,
            ),
            None => param(query, "start-after").map(str::to_owned),
        }
    } else {
        param(query, "marker").map(str::to_owned)
    };
    let listing = s3.list_objects(bucket, prefix, delimiter, after.as_deref(), max_keys)?;
    let enc = |s: &str| {
        if url_encode {
            percent_encode(s)
        } else {
            s.to_owned()
        }
    };
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{XMLNS}\">");
    el(&mut out, "Name", bucket);
    el(&mut out, "Prefix", &enc(prefix));
    if let Some(d) = delimiter {
        el(&mut out, "Delimiter", &enc(d));
    }
    el(&mut out, "MaxKeys", &max_keys.to_string());
    if url_encode {
        el(&mut out, "EncodingType", "url");
    }
    el(
        &mut out,
        "IsTruncated",
        if listing.truncated { "true" } else { "false" },
    );
    if v2 {
        el(
            &mut out,
            "KeyCount",
            &(listing.objects.len() + listing.common_prefixes.len()).to_string(),
        );
        if let Some(t) = token {
            el(&mut out, "ContinuationToken", t);
        }
        if let Some(s) = param(query, "start-after") {
            el(&mut out, "StartAfter", &enc(s));
        }
        if listing.truncated
            && let Some(last) = &listing.last
        {
            el(
                &mut out,
                "NextContinuationToken",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last),
            );
        }
    } else {
        el(
            &mut out,
            "Marker",
            &enc(param(query, "marker").unwrap_or("")),
        );
        if listing.truncated
            && delimiter.is_some()
            && let Some(last) = &listing.last
        {
            el(&mut out, "NextMarker", &enc(last));
        }
    }
    for meta in &listing.objects {
        out.push_str("<Contents>");
        el(&mut out, "Key", &enc(&meta.key));
        el(&mut out, "LastModified", &iso8601(meta.last_modified_ms));
        el(&mut out, "ETag", &meta.etag);
        el(&mut out, "Size", &meta.size.to_string());
        el(&mut out, "StorageClass", "STANDARD");
        out.push_str("</Contents>");
    }
    for common in &listing.common_prefixes {
        out.push_str("<CommonPrefixes>");
        el(&mut out, "Prefix", &enc(common));
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListBucketResult>");
    Ok(xml(StatusCode::OK, out, request_id))
}

/// The body's bytes and checksum trailers, undoing `aws-chunked` when used.
fn payload(headers: &HeaderMap, body: Bytes) -> S3Result<(Bytes, Trailers)> {
    let chunked = header(headers, "content-encoding")
        .is_some_and(|e| e.split(',').any(|p| p.trim() == "aws-chunked"))
        || header(headers, "x-amz-content-sha256").is_some_and(|s| s.starts_with("STREAMING-"));
    if !chunked {
        return Ok((body, Vec::new()));
    }
    let (data, trailers) = decode_chunked(&body)?;
    if let Some(declared) =
        header(headers, "x-amz-decoded-content-length").and_then(|v| v.parse::<usize>().ok())
        && declared != data.len()
    {
        return Err(S3Error::new(
            "IncompleteBody",
            400,
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    Ok((Bytes::from(data), trailers))
}

async fn put_object(
    s3: &S3,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
) -> S3Result<Response> {
    let (data, trailers) = payload(headers, body)?;
    if let Some(md5) = header(headers, "content-md5") {
        use md5::{Digest as _, Md5};
        let given = base64::engine::general_purpose::STANDARD
            .decode(md5.trim())
            .map_err(|_| {
                S3Error::new(
                    "InvalidDigest",
                    400,
                    "The Content-MD5 you specified was invalid.",
                )
            })?;
        if given.as_slice() != Md5::digest(&data).as_slice() {
            return Err(S3Error::new(
                "BadDigest",
                400,
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    let (content_type, metadata, mut kept) = object_headers(headers);
    for (name, value) in trailers {
        if name.starts_with("x-amz-checksum-") {
            kept.insert(name, value);
        }
    }
    let meta = s3
        .put_object(bucket, key, data, content_type, metadata, kept.clone())
        .await?;
    let mut response = empty(StatusCode::OK, request_id);
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&meta.etag) {
        h.insert("etag", v);
    }
    for (name, value) in kept
        .iter()
        .filter(|(n, _)| n.starts_with("x-amz-checksum-"))
    {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    Ok(response)
}

/// An object's content type, user metadata (`x-amz-meta-*`) and the other headers
/// kept with it (Content-Encoding without `aws-chunked`, Cache-Control, ...,
/// checksums).
fn object_headers(
    headers: &HeaderMap,
) -> (String, BTreeMap<String, String>, BTreeMap<String, String>) {
    let content_type = header(headers, "content-type")
        .unwrap_or("binary/octet-stream")
        .to_owned();
    let mut metadata = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        let Ok(value) = value.to_str() else { continue };
        if let Some(meta) = name.strip_prefix("x-amz-meta-") {
            metadata.insert(meta.to_owned(), value.to_owned());
        } else if KEPT_HEADERS.contains(&name)
            && !(name == "content-encoding" && value.trim() == "aws-chunked")
        {
            let value = value
                .split(',')
                .map(str::trim)
                .filter(|p| *p != "aws-chunked")
                .collect::<Vec<_>>()
                .join(",");
            kept.insert(name.to_owned(), value);
        } else if name.starts_with("x-amz-checksum-") && name != "x-amz-checksum-algorithm" {
            kept.insert(name.to_owned(), value.to_owned());
        }
    }
    (content_type, metadata, kept)
}

/// CreateMultipartUpload (`POST ?uploads`), UploadPart (`PUT ?partNumber&uploadId`),
/// CompleteMultipartUpload (`POST ?uploadId`), AbortMultipartUpload (`DELETE ?uploadId`).
#[allow(clippy::too_many_arguments)]
async fn multipart(
    s3: &S3,
    method: Method,
    bucket: &str,
    key: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
) -> S3Result<Response> {
    let upload_id = param(query, "uploadId").unwrap_or_default();
    match method {
        Method::POST if has(query, "uploads") => {
            let (content_type, metadata, mut kept) = object_headers(headers);
            kept.retain(|k, _| !k.starts_with("x-amz-checksum-"));
            let id = s3.create_upload(bucket, key, content_type, metadata, kept)?;
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult xmlns=\"{XMLNS}\">"
            );
            el(&mut out, "Bucket", bucket);
            el(&mut out, "Key", key);
            el(&mut out, "UploadId", &id);
            out.push_str("</InitiateMultipartUploadResult>");
            Ok(xml(StatusCode::OK, out, request_id))
        }
        Method::PUT => {
            let number = param(query, "partNumber")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0);
            let (data, _) = payload(headers, body)?;
            let etag = s3.upload_part(bucket, key, upload_id, number, data)?;
            let mut response = empty(StatusCode::OK, request_id);
            if let Ok(v) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert("etag", v);
            }
            Ok(response)
        }
        Method::POST => {
            let parts = parse_complete(&body)?;
            let meta = s3.complete_upload(bucket, key, upload_id, &parts).await?;
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult xmlns=\"{XMLNS}\">"
            );
            el(
                &mut out,
                "Location",
                &format!("/{bucket}/{}", percent_encode(key)),
            );
            el(&mut out, "Bucket", bucket);
            el(&mut out, "Key", key);
            el(&mut out, "ETag", &meta.etag);
            out.push_str("</CompleteMultipartUploadResult>");
            Ok(xml(StatusCode::OK, out, request_id))
        }
        Method::DELETE => {
            s3.abort_upload(bucket, key, upload_id)?;
            Ok(empty(StatusCode::NO_CONTENT, request_id))
        }
        _ => Err(S3Error::new(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
        )),
    }
}

/// The `(PartNumber, ETag)` list of a CompleteMultipartUpload body.
fn parse_complete(body: &[u8]) -> S3Result<Vec<(u32, String)>> {
    let malformed = || {
        S3Error::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut parts = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let (mut number, mut etag): (Option<u32>, Option<String>) = (None, None);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Ok(quick_xml::events::Event::End(e)) => {
                if e.local_name().as_ref() == b"Part" {
                    match (number.take(), etag.take()) {
                        (Some(n), Some(t)) => parts.push((n, t)),
                        _ => return Err(malformed()),
                    }
                }
                path.pop();
            }
            Ok(quick_xml::events::Event::Text(t)) => {
                let text = t.decode().map_err(|_| malformed())?;
                let text = quick_xml::escape::unescape(&text)
                    .map_err(|_| malformed())?
                    .trim()
                    .to_owned();
                match path.last().map(String::as_str) {
                    Some("PartNumber") => number = Some(text.parse().map_err(|_| malformed())?),
                    Some("ETag") => etag = Some(text),
                    _ => {}
                }
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(malformed()),
        }
        buf.clear();
    }
    Ok(parts)
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → (start, end inclusive).
fn parse_range(range: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = range.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // Multiple ranges: S3 serves the whole object.
    }
    let (a, b) = spec.split_once('-')?;
    let parsed = match (a.trim(), b.trim()) {
        ("", n) => n
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| (size.saturating_sub(n), size.saturating_sub(1))),
        (a, "") => a.parse::<u64>().ok().map(|a| (a, size.saturating_sub(1))),
        (a, b) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b => Some((a, b.min(size.saturating_sub(1)))),
            _ => return None,
        },
    };
    Some(match parsed {
        Some((a, b)) if size > 0 && a < size => Ok((a, b)),
        _ => Err(()),
    })
}

async fn get_object(
    s3: &S3,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
    request_id: &str,
    head: bool,
) -> S3Result<Response> {
    let (meta, data) = if head {
        (s3.head_object(bucket, key)?, Bytes::new())
    } else {
        s3.get_object(bucket, key).await?
    };
    if let Some(tag) = header(headers, "if-none-match")
        && tag == meta.etag
    {
        return Ok(empty(StatusCode::NOT_MODIFIED, request_id));
    }
    if let Some(tag) = header(headers, "if-match")
        && tag != meta.etag
    {
        return Err(S3Error::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", "If-Match"));
    }
    let range = header(headers, "range").and_then(|r| parse_range(r, meta.size));
    let (status, body, content_range) = match range {
        Some(Err(())) => {
            return Err(S3Error::new(
                "InvalidRange",
                416,
                "The requested range is not satisfiable",
            )
            .with("ActualObjectSize", meta.size.to_string()));
        }
        Some(Ok((a, b))) => {
            let body = if head {
                Bytes::new()
            } else {
                data.slice(a as usize..=b as usize)
            };
            (
                StatusCode::PARTIAL_CONTENT,
                body,
                Some((format!("bytes {a}-{b}/{}", meta.size), b - a + 1)),
            )
        }
        None => (StatusCode::OK, data, None),
    };
    let length = content_range.as_ref().map_or(meta.size, |(_, n)| *n);
    let mut response = if head {
        status.into_response()
    } else {
        (status, body).into_response()
    };
    let h = response.headers_mut();
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    };
    set("content-type", &meta.content_type);
    set("content-length", &length.to_string());
    set("etag", &meta.etag);
    set("last-modified", &http_date(meta.last_modified_ms));
    set("accept-ranges", "bytes");
    set("x-amz-request-id", request_id);
    if let Some((range, _)) = &content_range {
        set("content-range", range);
    }
    for (k, v) in &meta.metadata {
        set(&format!("x-amz-meta-{k}"), v);
    }
    let want_checksum =
        header(headers, "x-amz-checksum-mode").is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"));
    for (k, v) in &meta.headers {
        if !k.starts_with("x-amz-checksum-") || (want_checksum && content_range.is_none()) {
            set(k, v);
        }
    }
    Ok(response)
}

async fn copy_object(
    s3: &S3,
    bucket: &str,
    key: &str,
    source: &str,
    headers: &HeaderMap,
    request_id: &str,
) -> S3Result<Response> {
    let source = crate::protocol::percent_decode(source.split('?').next().unwrap_or(source), false);
    let source = source.strip_prefix('/').unwrap_or(&source);
    let (src_bucket, src_key) = source
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            S3Error::new(
                "InvalidArgument",
                400,
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
            .with("ArgumentName", "x-amz-copy-source")
        })?;
    let (meta, data) = s3.get_object(src_bucket, src_key).await?;
    let replace = header(headers, "x-amz-metadata-directive")
        .is_some_and(|d| d.eq_ignore_ascii_case("REPLACE"));
    if !replace && src_bucket == bucket && src_key == key {
        return Err(S3Error::new(
            "InvalidRequest",
            400,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let (content_type, metadata) = if replace {
        let metadata = headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.as_str().strip_prefix("x-amz-meta-")?.to_owned(),
                    v.to_str().ok()?.to_owned(),
                ))
            })
            .collect();
        (
            header(headers, "content-type")
                .unwrap_or("binary/octet-stream")
                .to_owned(),
            metadata,
        )
    } else {
        (meta.content_type.clone(), meta.metadata.clone())
    };
    let copied = s3
        .put_object(
            bucket,
            key,
            data,
            content_type,
            metadata,
            meta.headers.clone(),
        )
        .await?;
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult xmlns=\"{XMLNS}\">");
    el(&mut out, "LastModified", &iso8601(copied.last_modified_ms));
    el(&mut out, "ETag", &copied.etag);
    out.push_str("</CopyObjectResult>");
    Ok(xml(StatusCode::OK, out, request_id))
}

async fn delete_objects(
    s3: &S3,
    bucket: &str,
    body: &[u8],
    request_id: &str,
) -> S3Result<Response> {
    let malformed = || {
        S3Error::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut keys = Vec::new();
    let mut quiet = false;
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Ok(quick_xml::events::Event::End(_)) => {
                path.pop();
            }
            Ok(quick_xml::events::Event::Text(t)) => {
                let text = t.decode().map_err(|_| malformed())?;
                let text = quick_xml::escape::unescape(&text)
                    .map_err(|_| malformed())?
                    .into_owned();
                match path
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [.., "Object", "Key"] => keys.push(text),
                    [.., "Quiet"] => quiet = text.trim() == "true",
                    _ => {}
                }
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(malformed()),
        }
        buf.clear();
    }
    if keys.is_empty() || keys.len() > 1000 {
        return Err(malformed());
    }
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"{XMLNS}\">");
    for key in keys {
        match s3.delete_object(bucket, &key).await {
            Ok(()) => {
                if !quiet {
                    out.push_str("<Deleted>");
                    el(&mut out, "Key", &key);
                    out.push_str("</Deleted>");
                }
            }
            Err(e) => {
                out.push_str("<Error>");
                el(&mut out, "Key", &key);
                el(&mut out, "Code", e.code);
                el(&mut out, "Message", &e.message);
                out.push_str("</Error>");
            }
        }
    }
    out.push_str("</DeleteResult>");
    Ok(xml(StatusCode::OK, out, request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_styles() {
        assert_eq!(
            address(Some("127.0.0.1:4566"), "/b/a/b%20c.json"),
            (Some("b".into()), Some("a/b c.json".into()))
        );
        assert_eq!(
            address(Some("127.0.0.1:4566"), "/b"),
            (Some("b".into()), None)
        );
        assert_eq!(address(Some("127.0.0.1:4566"), "/"), (None, None));
        assert_eq!(
            address(Some("events.localhost:4566"), "/k"),
            (Some("events".into()), Some("k".into()))
        );
        assert_eq!(
            address(Some("events.s3.us-east-1.amazonaws.com"), "/"),
            (Some("events".into()), None)
        );
    }

    #[test]
    fn aws_chunked_bodies() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let (data, trailers) = decode_chunked(body).unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(
            trailers,
            vec![("x-amz-checksum-crc32".to_owned(), "AAAAAA==".to_owned())]
        );
        assert!(decode_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), Some(Ok((0, 4))));
        assert_eq!(parse_range("bytes=5-", 10), Some(Ok((5, 9))));
        assert_eq!(parse_range("bytes=-3", 10), Some(Ok((7, 9))));
        assert_eq!(parse_range("bytes=2-100", 10), Some(Ok((2, 9))));
        assert_eq!(parse_range("bytes=20-30", 10), Some(Err(())));
        assert_eq!(parse_range("items=1-2", 10), None);
    }
}
