//! SNS message signatures, as AWS makes them and a subscriber checks them: the
//! endpoint's own 2048-bit RSA key pair signs the canonical string of each
//! message (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA), and a
//! self-signed X.509 certificate of its public key is served at
//! [`CERT_PATH`], which every message names as its `SigningCertURL`.
//!
//! The key and certificate are made once and kept as PEM files under the state
//! directory (`endpoint/sns-signing-key.pem`, `endpoint/sns-signing-cert.pem`),
//! so signatures stay verifiable across restarts; without a state directory
//! they live in memory, one pair shared by every in-memory endpoint of the
//! process. Making a key takes tens to hundreds of milliseconds (the bignum
//! crates are optimized even in dev builds: see the workspace's Cargo.toml),
//! so it happens on a blocking thread in the background: the endpoint is ready
//! at once, and whatever signs (or serves the certificate) waits for the key.
//!
//! Signing itself runs in aws-lc (the libcrypto rustls already links), about
//! five times faster than the pure-Rust `rsa` crate: one private-key operation
//! per published message is most of what a Publish costs. `rsa` still makes
//! the key and the certificate, and the tests verify with it.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::{PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::Sha256;
use tokio::sync::watch;
use x509_cert::builder::{Builder, CertificateBuilder, profile};
use x509_cert::der::{DecodePem, EncodePem};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;

/// Where the signing certificate is served, under the endpoint's base URL
/// (an admin path, but served even when the admin routes are off).
pub const CERT_PATH: &str = "/_nextflix/sns/SimpleNotificationService.pem";

/// The key's size in bits, as AWS's own.
const KEY_BITS: usize = 2048;
/// How long a new certificate is valid.
const CERT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const KEY_FILE: &str = "sns-signing-key.pem";
const CERT_FILE: &str = "sns-signing-cert.pem";

/// A topic's `SignatureVersion`: which hash signs its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Version {
    /// SHA1withRSA, AWS's default.
    #[default]
    V1,
    /// SHA256withRSA.
    V2,
}

impl Version {
    /// The attribute's value; anything but "2" is version 1.
    pub fn from_attribute(value: Option<&str>) -> Version {
        match value.map(str::trim) {
            Some("2") => Version::V2,
            _ => Version::V1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "1",
            Version::V2 => "2",
        }
    }
}

/// The string AWS signs: each field present as `Name\nvalue\n`, in the given
/// order (the caller passes AWS's order and leaves out absent fields).
pub fn canonical_string(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in fields {
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// A key pair and the certificate of its public half.
pub struct Keys {
    signer: LcKey,
    public: PublicKey,
    cert_pem: String,
}

/// The private key as an aws-lc `RSA` object.
struct LcKey(std::ptr::NonNull<aws_lc_sys::RSA>);

// SAFETY: aws-lc's RSA objects may be used for private-key operations from many
// threads at once (the blinding state they cache is behind the object's own lock),
// and the object is only freed on drop, which needs exclusive ownership.
unsafe impl Send for LcKey {}
unsafe impl Sync for LcKey {}

impl LcKey {
    fn new(key: &PrivateKey) -> io::Result<LcKey> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| io::Error::other(format!("cannot encode the key: {e}")))?;
        let der = der.as_bytes();
        // SAFETY: the pointer and length describe `der`, alive for the call; the
        // function copies what it parses.
        let rsa = unsafe { aws_lc_sys::RSA_private_key_from_bytes(der.as_ptr(), der.len()) };
        std::ptr::NonNull::new(rsa)
            .map(LcKey)
            .ok_or_else(|| io::Error::other("aws-lc cannot read the signing key"))
    }

    /// A PKCS #1 v1.5 signature of `digest`, made with the hash `nid`.
    fn sign(&self, nid: i32, digest: &[u8]) -> io::Result<Vec<u8>> {
        // SAFETY: `self.0` is a valid RSA object for the life of `self`.
        let size = unsafe { aws_lc_sys::RSA_size(self.0.as_ptr()) } as usize;
        let mut out = vec![0u8; size];
        let mut len: std::os::raw::c_uint = 0;
        // SAFETY: `out` has room for RSA_size bytes, as RSA_sign requires; the
        // digest pointer and length describe `digest`.
        let ok = unsafe {
            aws_lc_sys::RSA_sign(
                nid,
                digest.as_ptr(),
                digest.len(),
                out.as_mut_ptr(),
                &mut len,
                self.0.as_ptr(),
            )
        };
        if ok != 1 {
            return Err(io::Error::other("aws-lc could not sign"));
        }
        out.truncate(len as usize);
        Ok(out)
    }
}

impl Drop for LcKey {
    fn drop(&mut self) {
        // SAFETY: the object came from RSA_private_key_from_bytes and is freed once.
        unsafe { aws_lc_sys::RSA_free(self.0.as_ptr()) }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

impl Keys {
    /// A new key pair and a self-signed certificate for it.
    pub fn generate() -> io::Result<Keys> {
        let key = PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
            .map_err(|e| io::Error::other(format!("cannot make an RSA key: {e}")))?;
        let cert_pem = self_signed_cert(&key)?;
        Keys::from_parts(key, cert_pem)
    }

    fn from_parts(key: PrivateKey, cert_pem: String) -> io::Result<Keys> {
        Ok(Keys {
            public: key.to_public_key(),
            signer: LcKey::new(&key)?,
            cert_pem,
        })
    }

    /// The key and certificate kept in `dir`, made and written there (each
    /// file atomically) when missing or unreadable.
    pub fn load_or_create(dir: &Path) -> io::Result<Keys> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        let key = match std::fs::read_to_string(&key_path) {
            Ok(pem) => match PrivateKey::from_pkcs8_pem(&pem) {
                Ok(key) => Some(key),
                Err(e) => {
                    tracing::warn!(path = %key_path.display(), %e, "unreadable SNS signing key; making a new one");
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (key, fresh) = match key {
            Some(key) => (key, false),
            None => {
                let key = PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
                    .map_err(|e| io::Error::other(format!("cannot make an RSA key: {e}")))?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| io::Error::other(format!("cannot encode the key: {e}")))?;
                std::fs::create_dir_all(dir)?;
                write_atomically(&key_path, pem.as_bytes(), true)?;
                tracing::info!(path = %key_path.display(), "made a new SNS signing key");
                (key, true)
            }
        };
        let kept_cert = if fresh {
            None
        } else {
            match std::fs::read_to_string(&cert_path) {
                Ok(pem) if cert_matches(&pem, &key) => Some(pem),
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            }
        };
        let cert_pem = match kept_cert {
            Some(pem) => pem,
            None => {
                let pem = self_signed_cert(&key)?;
                write_atomically(&cert_path, pem.as_bytes(), false)?;
                pem
            }
        };
        Keys::from_parts(key, cert_pem)
    }

    /// The base64 signature of `canonical` with the version's hash.
    pub fn sign(&self, version: Version, canonical: &str) -> io::Result<String> {
        use sha2::Digest as _;
        let bytes = match version {
            Version::V1 => self
                .signer
                .sign(aws_lc_sys::NID_sha1, &Sha1::digest(canonical.as_bytes())),
            Version::V2 => self.signer.sign(
                aws_lc_sys::NID_sha256,
                &Sha256::digest(canonical.as_bytes()),
            ),
        }?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The certificate, PEM-encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }
}

/// Whether `pem` is a certificate of `key`'s public half.
fn cert_matches(pem: &str, key: &PrivateKey) -> bool {
    let Ok(cert) = x509_cert::Certificate::from_pem(pem.as_bytes()) else {
        return false;
    };
    let Ok(ours) = key.to_public_key().to_public_key_der() else {
        return false;
    };
    let Ok(ours) = SubjectPublicKeyInfoOwned::try_from(ours.as_bytes()) else {
        return false;
    };
    cert.tbs_certificate().subject_public_key_info() == &ours
}

fn self_signed_cert(key: &PrivateKey) -> io::Result<String> {
    let err = |what: &str, e: &dyn std::fmt::Display| io::Error::other(format!("{what}: {e}"));
    let subject = Name::from_str("CN=sns.nextflix.local,O=Nextflix,C=US")
        .map_err(|e| err("certificate subject", &e))?;
    // A self-signed root whose key usage includes digitalSignature (the key
    // signs messages, not only itself).
    let profile =
        profile::cabf::Root::new(true, subject).map_err(|e| err("certificate profile", &e))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| err("public key", &e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())
        .map_err(|e| err("public key", &e))?;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| err("serial number", &e))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| err("serial number", &e))?;
    let validity = Validity::from_now(CERT_VALIDITY).map_err(|e| err("validity", &e))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let cert = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| err("certificate", &e))?
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .map_err(|e| err("certificate", &e))?;
    cert.to_pem(LineEnding::LF)
        .map_err(|e| err("certificate PEM", &e))
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it
/// over `path`, so a reader sees the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("signing");
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The keys of in-memory endpoints: made once per process and shared, since
/// they are thrown away on exit anyway (a test process starts many endpoints).
fn memory_keys() -> io::Result<Arc<Keys>> {
    static KEYS: Mutex<Option<Arc<Keys>>> = Mutex::new(None);
    let mut kept = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(keys) = kept.as_ref() {
        return Ok(keys.clone());
    }
    let keys = Arc::new(Keys::generate()?);
    *kept = Some(keys.clone());
    Ok(keys)
}

/// The endpoint's signer; cheap to clone. The keys arrive from a background
/// task; [`Signer::keys`] waits for them.
#[derive(Clone, Debug)]
pub struct Signer {
    keys: watch::Receiver<Option<Arc<Keys>>>,
}

impl Signer {
    /// Starts loading (or making) the keys on a blocking thread: kept in
    /// `dir` when given, else in memory. Needs a Tokio runtime.
    pub fn start(dir: Option<PathBuf>) -> Signer {
        let (tx, rx) = watch::channel(None);
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let keys = match &dir {
                Some(dir) => Keys::load_or_create(dir).map(Arc::new).or_else(|e| {
                    tracing::error!(%e, dir = %dir.display(), "cannot keep the SNS signing key; using one in memory");
                    memory_keys()
                }),
                None => memory_keys(),
            };
            match keys {
                Ok(keys) => {
                    tracing::debug!(
                        ms = started.elapsed().as_millis() as u64,
                        "SNS signing key ready"
                    );
                    let _ = tx.send(Some(keys));
                }
                // Dropping the sender tells the waiters there will be no key.
                Err(e) => tracing::error!(%e, "no SNS signing key: messages go unsigned"),
            }
        });
        Signer { keys: rx }
    }

    /// A signer with these keys already in hand.
    pub fn with_keys(keys: Keys) -> Signer {
        let (_tx, rx) = watch::channel(Some(Arc::new(keys)));
        Signer { keys: rx }
    }

    /// The keys, once ready; `None` if they could not be had.
    pub async fn keys(&self) -> Option<Arc<Keys>> {
        let mut rx = self.keys.clone();
        let ready = rx.wait_for(Option::is_some).await.ok()?;
        ready.clone()
    }

    /// The base64 signature of the canonical string of `fields`, or `None`
    /// when there is no key.
    pub async fn sign(&self, version: Version, fields: &[(&str, &str)]) -> Option<String> {
        let keys = self.keys().await?;
        let canonical = canonical_string(fields);
        // An RSA private-key operation is CPU work: keep it off the async threads.
        let signed = tokio::task::spawn_blocking(move || keys.sign(version, &canonical)).await;
        match signed {
            Ok(Ok(signature)) => Some(signature),
            Ok(Err(e)) => {
                tracing::error!(%e, "cannot sign an SNS message");
                None
            }
            Err(e) => {
                tracing::error!(%e, "the signing task failed");
                None
            }
        }
    }

    /// The certificate, PEM-encoded, once ready.
    pub async fn cert_pem(&self) -> Option<String> {
        self.keys().await.map(|k| k.cert_pem.clone())
    }

    /// The answer to a GET of [`CERT_PATH`].
    pub async fn cert_response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        match self.cert_pem().await {
            Some(pem) => (
                [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
                pem,
            )
                .into_response(),
            None => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "no SNS signing certificate\n",
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use std::sync::OnceLock;

    fn keys() -> &'static Keys {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        KEYS.get_or_init(|| Keys::generate().expect("a key"))
    }

    fn verify(version: Version, canonical: &str, signature_b64: &str, public: &PublicKey) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        match version {
            Version::V1 => VerifyingKey::<Sha1>::new(public.clone())
                .verify(canonical.as_bytes(), &signature)
                .is_ok(),
            Version::V2 => VerifyingKey::<Sha256>::new(public.clone())
                .verify(canonical.as_bytes(), &signature)
                .is_ok(),
        }
    }

    #[test]
    fn canonical_string_is_name_newline_value_newline() {
        let s = canonical_string(&[("Message", "hi\nthere"), ("MessageId", "m1")]);
        assert_eq!(s, "Message\nhi\nthere\nMessageId\nm1\n");
    }

    #[test]
    fn signatures_verify_over_the_documented_string_for_both_versions() {
        let keys = keys();
        // The public key in the certificate is the one that verifies.
        let cert = x509_cert::Certificate::from_pem(keys.cert_pem().as_bytes()).expect("cert");
        let spki_der =
            x509_cert::der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                .expect("spki");
        let from_cert = <PublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(&spki_der)
            .expect("public key");
        assert_eq!(&from_cert, keys.public_key());
        for subject in [None, Some("A subject")] {
            let mut expected = String::from("Message\nhello\nMessageId\nid-1\n");
            let mut fields = vec![("Message", "hello"), ("MessageId", "id-1")];
            if let Some(s) = subject {
                fields.push(("Subject", s));
                expected.push_str(&format!("Subject\n{s}\n"));
            }
            fields.extend([
                ("Timestamp", "2026-01-01T00:00:00.000Z"),
                ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t"),
                ("Type", "Notification"),
            ]);
            expected.push_str("Timestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n");
            assert_eq!(canonical_string(&fields), expected);
            for version in [Version::V1, Version::V2] {
                let sig = keys.sign(version, &expected).expect("signs");
                assert!(verify(version, &expected, &sig, &from_cert), "{version:?}");
                let other = if version == Version::V1 {
                    Version::V2
                } else {
                    Version::V1
                };
                assert!(!verify(other, &expected, &sig, &from_cert));
                let tampered = expected.replace("hello", "hellO");
                assert!(!verify(version, &tampered, &sig, &from_cert));
            }
        }
    }

    #[test]
    fn confirmation_fields_sign_and_verify() {
        let fields = [
            ("Message", "You have chosen to subscribe"),
            ("MessageId", "id-2"),
            (
                "SubscribeURL",
                "http://127.0.0.1/?Action=ConfirmSubscription",
            ),
            ("Timestamp", "2026-01-01T00:00:00.000Z"),
            ("Token", "abc"),
            ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t"),
            ("Type", "SubscriptionConfirmation"),
        ];
        let canonical = canonical_string(&fields);
        let sig = keys().sign(Version::V2, &canonical).expect("signs");
        assert!(verify(Version::V2, &canonical, &sig, keys().public_key()));
    }

    #[test]
    fn the_certificate_is_served_under_the_admin_prefix() {
        // http.rs routes it inside the admin routes (served even with --no-admin).
        assert_eq!(
            CERT_PATH,
            format!(
                "{}/sns/SimpleNotificationService.pem",
                crate::http::ADMIN_PREFIX
            )
        );
    }

    #[test]
    fn version_attribute() {
        assert_eq!(Version::from_attribute(None), Version::V1);
        assert_eq!(Version::from_attribute(Some("1")), Version::V1);
        assert_eq!(Version::from_attribute(Some("2")), Version::V2);
        assert_eq!(Version::V2.as_str(), "2");
    }

    #[test]
    fn kept_keys_survive_and_a_bad_cert_is_remade() {
        let dir = tempfile::tempdir().expect("dir");
        let first = Keys::load_or_create(dir.path()).expect("made");
        let again = Keys::load_or_create(dir.path()).expect("loaded");
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(first.cert_pem(), again.cert_pem());
        std::fs::write(dir.path().join(CERT_FILE), "junk").expect("write");
        let third = Keys::load_or_create(dir.path()).expect("loaded");
        assert_eq!(first.public_key(), third.public_key());
        assert!(cert_matches(
            third.cert_pem(),
            &PrivateKey::from_pkcs8_pem(
                &std::fs::read_to_string(dir.path().join(KEY_FILE)).expect("key")
            )
            .expect("pem")
        ));
    }

    #[tokio::test]
    async fn signer_waits_for_its_background_key() {
        let signer = Signer::start(None);
        let sig = signer
            .sign(Version::V1, &[("Message", "m"), ("Type", "Notification")])
            .await
            .expect("signed");
        let keys = signer.keys().await.expect("keys");
        assert!(verify(
            Version::V1,
            "Message\nm\nType\nNotification\n",
            &sig,
            keys.public_key()
        ));
        assert!(
            signer
                .cert_pem()
                .await
                .expect("pem")
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
    }
}
