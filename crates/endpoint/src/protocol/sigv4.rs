//! Reading (not yet verifying) AWS Signature Version 4: the credential scope of
//! the `Authorization` header or of a presigned URL's `X-Amz-Credential`, which
//! names the access key, region and service of a request.

use axum::http::HeaderMap;

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

#[cfg(test)]
mod tests {
    use super::*;

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
