//! The S3 engine: buckets and objects. Object metadata is durable in the store
//! (group commit), and so are the bytes of small objects (up to [`INLINE_MAX`]),
//! inline in the same record: one PutObject of an event costs a share of one
//! fsync instead of two fsyncs of its own. Larger objects' bytes live in files
//! written with fsync and an atomic rename before their metadata is committed.
//! Either way an acknowledged PutObject survives `kill -9` and a crash never
//! leaves metadata without its bytes.
//!
//! Object records come in two forms, both read back at start:
//! - a file-backed object: the postcard of [`ObjectMeta`], as every object was
//!   stored before inline objects existed (its first byte is the length of a
//!   non-empty key, never 0);
//! - an inline object: [`INLINE_TAG`], then the postcard of [`ObjectMeta`], then
//!   the object's bytes to the end of the record.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::s3::error::{S3Error, S3Result};
use crate::store::{Loaded, Op, Store};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BucketRecord {
    name: String,
    region: String,
    created_ms: u64,
}

/// What is kept of an object besides its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Quoted hex MD5, as S3 shows single-part ETags.
    pub etag: String,
    pub content_type: String,
    pub last_modified_ms: u64,
    /// `x-amz-meta-*` (without the prefix), and the other stored headers
    /// (Content-Encoding, Cache-Control, checksums).
    pub metadata: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    /// The object's id: its item key in the store and, for a file-backed
    /// object, the name of its file.
    pub blob: u64,
    /// The bytes of an inline object (kept in its store record, and in memory:
    /// the store is read only at start); `None` for a file-backed one. Not part
    /// of the postcard of the metadata: the record carries it after it.
    #[serde(skip)]
    pub inline: Option<Bytes>,
}

/// Objects up to this size are kept inline in their store record. Such a put
/// costs no file, no fsync of its own and no thread-pool hop: its bytes ride the
/// group commit with its metadata. The bound keeps what inline objects cost in
/// check: their bytes stay in memory (the store has no read path besides the load
/// at start) and a full group commit (4096 puts) stays under 64 MiB. At 16 KiB and
/// above, a file's two fsyncs are a smaller share of writing the bytes.
pub const INLINE_MAX: usize = 16 * 1024;

/// The first bytes of an inline object's record: 0 (which no file-backed record
/// starts with: a key is never empty), then the version of the layout.
const INLINE_TAG: [u8; 2] = [0, 1];

/// The store record of an object.
fn object_record(meta: &ObjectMeta) -> Vec<u8> {
    match &meta.inline {
        None => encode(meta),
        Some(data) => {
            let record = INLINE_TAG.to_vec();
            match postcard::to_extend(meta, record) {
                Ok(mut record) => {
                    record.extend_from_slice(data);
                    record
                }
                Err(_) => Vec::new(),
            }
        }
    }
}

/// An object read back from its store record, in either form.
fn decode_object(record: &[u8]) -> Option<ObjectMeta> {
    match record.strip_prefix(&INLINE_TAG) {
        Some(rest) => {
            let (mut meta, data) = postcard::take_from_bytes::<ObjectMeta>(rest).ok()?;
            if data.len() as u64 != meta.size {
                return None;
            }
            meta.inline = Some(Bytes::copy_from_slice(data));
            Some(meta)
        }
        None if record.first() == Some(&0) => None,
        None => postcard::from_bytes::<ObjectMeta>(record).ok(),
    }
}

struct Bucket {
    id: u64,
    record: BucketRecord,
    objects: BTreeMap<String, ObjectMeta>,
}

enum Blobs {
    Memory(Mutex<HashMap<u64, Bytes>>),
    Disk(PathBuf),
}

impl Blobs {
    fn write(&self, id: u64, data: &Bytes) -> std::io::Result<()> {
        match self {
            Blobs::Memory(map) => {
                map.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, data.clone());
                Ok(())
            }
            Blobs::Disk(dir) => {
                let tmp = dir.join(format!("{id}.tmp"));
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(data)?;
                file.sync_all()?;
                std::fs::rename(&tmp, dir.join(id.to_string()))?;
                std::fs::File::open(dir)?.sync_all()
            }
        }
    }

    fn read(&self, id: u64) -> std::io::Result<Bytes> {
        match self {
            Blobs::Memory(map) => map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "blob missing")),
            Blobs::Disk(dir) => std::fs::read(dir.join(id.to_string())).map(Bytes::from),
        }
    }

    fn remove(&self, id: u64) {
        match self {
            Blobs::Memory(map) => {
                map.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            }
            Blobs::Disk(dir) => {
                let _ = std::fs::remove_file(dir.join(id.to_string()));
            }
        }
    }
}

struct Inner {
    clock: Clock,
    store: Store,
    blobs: Blobs,
    buckets: RwLock<BTreeMap<String, Bucket>>,
    next_id: AtomicU64,
    /// Multipart uploads in progress, by upload id (kept in memory: an upload
    /// not completed before a restart is gone, its parts with it).
    uploads: Mutex<HashMap<String, Upload>>,
}

/// A multipart upload in progress.
struct Upload {
    bucket: String,
    key: String,
    content_type: String,
    metadata: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    /// Part number → (bytes, quoted hex MD5).
    parts: BTreeMap<u32, (Bytes, String)>,
}

/// The smallest part but the last, as S3 requires.
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The S3 service of an endpoint; cheap to clone.
#[derive(Clone)]
pub struct S3 {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

/// A page of ListObjects.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<ObjectMeta>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or prefix returned, to continue after.
    pub last: Option<String>,
}

/// Bucket names: 3 to 63 of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, not an IP address.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
}

impl S3 {
    /// The engine over `store`, with objects' bytes under `blob_dir` (in memory
    /// when `None`). Files without metadata (a crash between the two) are removed.
    pub fn new(
        clock: Clock,
        store: Store,
        loaded: Loaded,
        blob_dir: Option<PathBuf>,
    ) -> std::io::Result<S3> {
        let blobs = match blob_dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir)?;
                Blobs::Disk(dir)
            }
            None => Blobs::Memory(Mutex::new(HashMap::new())),
        };
        let mut buckets = BTreeMap::new();
        let mut by_id = HashMap::new();
        let mut max_id = 0;
        for (id, bytes) in loaded.resources {
            max_id = max_id.max(id);
            if let Ok(record) = postcard::from_bytes::<BucketRecord>(&bytes) {
                by_id.insert(id, record.name.clone());
                buckets.insert(
                    record.name.clone(),
                    Bucket {
                        id,
                        record,
                        objects: BTreeMap::new(),
                    },
                );
            }
        }
        // Records an older version left behind (a replaced object whose record
        // was not deleted with the put that replaced it): the newer one of a key,
        // the one with the larger id, is the object; the others go.
        let mut stale = Vec::new();
        for (owner, key, bytes, _) in loaded.items {
            max_id = max_id.max(key);
            let Some(name) = by_id.get(&owner) else {
                continue;
            };
            let (Some(mut meta), Some(bucket)) = (decode_object(&bytes), buckets.get_mut(name))
            else {
                tracing::warn!(bucket = %name, id = key, "an unreadable object record is skipped");
                continue;
            };
            max_id = max_id.max(meta.blob);
            // The id the record is stored under is the one to delete it by.
            meta.blob = key;
            match bucket.objects.get(&meta.key) {
                Some(kept) if kept.blob > key => stale.push((owner, key)),
                _ => {
                    if let Some(old) = bucket.objects.insert(meta.key.clone(), meta) {
                        stale.push((owner, old.blob));
                    }
                }
            }
        }
        let referenced: HashSet<u64> = buckets
            .values()
            .flat_map(|b| b.objects.values())
            .filter(|o| o.inline.is_none())
            .map(|o| o.blob)
            .collect();
        store.write_behind(
            stale
                .into_iter()
                .map(|(owner, key)| Op::DeleteItem { owner, key })
                .collect(),
        );
        if let Blobs::Disk(dir) = &blobs {
            for entry in std::fs::read_dir(dir)?.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let keep = name.parse::<u64>().is_ok_and(|id| referenced.contains(&id));
                if let Ok(id) = name.trim_end_matches(".tmp").parse::<u64>() {
                    max_id = max_id.max(id);
                }
                if !keep {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(S3 {
            inner: Arc::new(Inner {
                clock,
                store,
                blobs,
                buckets: RwLock::new(buckets),
                next_id: AtomicU64::new(max_id + 1),
                uploads: Mutex::new(HashMap::new()),
            }),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Bucket>> {
        self.inner.buckets.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Bucket>> {
        self.inner
            .buckets
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    async fn durable(pending: crate::store::Pending) -> S3Result<()> {
        pending.durable().await.map_err(|e| {
            tracing::error!(%e, "an S3 change could not be made durable");
            S3Error::internal()
        })
    }

    pub fn now(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// Whether the buckets' storage still takes writes.
    pub fn storage_healthy(&self) -> bool {
        self.inner.store.is_healthy()
    }

    pub fn list_buckets(&self) -> Vec<(String, u64)> {
        self.read()
            .values()
            .map(|b| (b.record.name.clone(), b.record.created_ms))
            .collect()
    }

    pub fn bucket_region(&self, name: &str) -> S3Result<String> {
        self.read()
            .get(name)
            .map(|b| b.record.region.clone())
            .ok_or_else(|| S3Error::no_such_bucket(name))
    }

    pub async fn create_bucket(&self, name: &str, region: &str) -> S3Result<()> {
        if !valid_bucket_name(name) {
            return Err(S3Error::new(
                "InvalidBucketName",
                400,
                "The specified bucket is not valid.",
            )
            .with("BucketName", name));
        }
        let pending = {
            let mut buckets = self.write();
            if buckets.contains_key(name) {
                if region == "us-east-1" {
                    return Ok(());
                }
                return Err(S3Error::new(
                    "BucketAlreadyOwnedByYou",
                    409,
                    "Your previous request to create the named bucket succeeded and you already own it.",
                )
                .with("BucketName", name));
            }
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            let record = BucketRecord {
                name: name.to_owned(),
                region: region.to_owned(),
                created_ms: self.now(),
            };
            let pending = self.inner.store.submit(vec![Op::PutResource {
                id,
                record: encode(&record),
            }]);
            buckets.insert(
                name.to_owned(),
                Bucket {
                    id,
                    record,
                    objects: BTreeMap::new(),
                },
            );
            pending
        };
        Self::durable(pending).await?;
        tracing::info!(bucket = name, "bucket created");
        Ok(())
    }

    pub async fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let pending = {
            let mut buckets = self.write();
            let bucket = buckets
                .get(name)
                .ok_or_else(|| S3Error::no_such_bucket(name))?;
            if !bucket.objects.is_empty() {
                return Err(S3Error::new(
                    "BucketNotEmpty",
                    409,
                    "The bucket you tried to delete is not empty",
                )
                .with("BucketName", name));
            }
            let id = bucket.id;
            buckets.remove(name);
            self.inner.store.submit(vec![Op::DeleteResource { id }])
        };
        Self::durable(pending).await
    }

    /// Stores an object; returns its metadata (with the ETag).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: Bytes,
        content_type: String,
        metadata: BTreeMap<String, String>,
        headers: BTreeMap<String, String>,
    ) -> S3Result<ObjectMeta> {
        validate_key(key)?;
        let bucket_id = self
            .read()
            .get(bucket)
            .map(|b| b.id)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
        self.store_object(
            bucket_id,
            bucket,
            key,
            data,
            etag,
            content_type,
            metadata,
            headers,
        )
        .await
    }

    /// Writes an object's bytes, then commits its metadata.
    #[allow(clippy::too_many_arguments)]
    async fn store_object(
        &self,
        bucket_id: u64,
        bucket: &str,
        key: &str,
        data: Bytes,
        etag: String,
        content_type: String,
        metadata: BTreeMap<String, String>,
        headers: BTreeMap<String, String>,
    ) -> S3Result<ObjectMeta> {
        let blob = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let inline = data.len() <= INLINE_MAX;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: data.len() as u64,
            etag,
            content_type,
            last_modified_ms: self.now(),
            metadata,
            headers,
            blob,
            inline: inline.then(|| data.clone()),
        };
        if !inline {
            let inner = self.inner.clone();
            let written = tokio::task::spawn_blocking(move || inner.blobs.write(blob, &data)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(%e, "cannot write an object's bytes");
                    return Err(S3Error::internal());
                }
                Err(e) => {
                    tracing::error!(%e, "object writer failed");
                    return Err(S3Error::internal());
                }
            }
        }
        let record = object_record(&meta);
        let (pending, replaced) = {
            let mut buckets = self.write();
            let Some(b) = buckets.get_mut(bucket).filter(|b| b.id == bucket_id) else {
                if !inline {
                    self.inner.blobs.remove(blob);
                }
                return Err(S3Error::no_such_bucket(bucket));
            };
            let replaced = b.objects.insert(key.to_owned(), meta.clone());
            // The new record and the removal of the one it replaces, atomically:
            // a crash keeps one of the two, never both.
            let mut ops = vec![Op::PutItem {
                owner: bucket_id,
                key: blob,
                record,
            }];
            if let Some(old) = &replaced {
                ops.push(Op::DeleteItem {
                    owner: bucket_id,
                    key: old.blob,
                });
            }
            (self.inner.store.submit(ops), replaced)
        };
        Self::durable(pending).await?;
        if let Some(old) = replaced {
            self.remove_bytes(&old);
        }
        Ok(meta)
    }

    /// Removes the file of an object no record names any more (nothing to do
    /// for an inline one: its bytes went with its record).
    fn remove_bytes(&self, meta: &ObjectMeta) {
        if meta.inline.is_none() {
            self.inner.blobs.remove(meta.blob);
        }
    }

    fn uploads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
        self.inner.uploads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// CreateMultipartUpload: a new upload id.
    pub fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: String,
        metadata: BTreeMap<String, String>,
        headers: BTreeMap<String, String>,
    ) -> S3Result<String> {
        validate_key(key)?;
        if !self.read().contains_key(bucket) {
            return Err(S3Error::no_such_bucket(bucket));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.uploads().insert(
            id.clone(),
            Upload {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                content_type,
                metadata,
                headers,
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    fn no_such_upload(id: &str) -> S3Error {
        S3Error::new(
            "NoSuchUpload",
            404,
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
        .with("UploadId", id)
    }

    /// UploadPart: keeps the part (replacing one with the same number); its ETag.
    pub fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        data: Bytes,
    ) -> S3Result<String> {
        if !(1..=10_000).contains(&number) {
            return Err(S3Error::new(
                "InvalidArgument",
                400,
                "Part number must be an integer between 1 and 10000, inclusive",
            )
            .with("ArgumentName", "partNumber"));
        }
        let mut uploads = self.uploads();
        let upload = uploads
            .get_mut(id)
            .filter(|u| u.bucket == bucket && u.key == key)
            .ok_or_else(|| Self::no_such_upload(id))?;
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
        upload.parts.insert(number, (data, etag.clone()));
        Ok(etag)
    }

    /// AbortMultipartUpload.
    pub fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<()> {
        let mut uploads = self.uploads();
        match uploads.get(id) {
            Some(u) if u.bucket == bucket && u.key == key => {
                uploads.remove(id);
                Ok(())
            }
            _ => Err(Self::no_such_upload(id)),
        }
    }

    /// CompleteMultipartUpload: the listed parts, in ascending order and with
    /// their ETags, become the object; its ETag is the MD5 of the parts' MD5s
    /// followed by `-<number of parts>`, as S3 computes it.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        listed: &[(u32, String)],
    ) -> S3Result<ObjectMeta> {
        let upload = {
            let mut uploads = self.uploads();
            match uploads.get(id) {
                Some(u) if u.bucket == bucket && u.key == key => {}
                _ => return Err(Self::no_such_upload(id)),
            }
            if listed.is_empty() {
                return Err(S3Error::new(
                    "MalformedXML",
                    400,
                    "The XML you provided was not well-formed or did not validate against our published schema",
                ));
            }
            if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(S3Error::new(
                    "InvalidPartOrder",
                    400,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
                ));
            }
            let Some(upload) = uploads.get(id) else {
                return Err(Self::no_such_upload(id));
            };
            for (i, (number, etag)) in listed.iter().enumerate() {
                let want = if etag.starts_with('"') {
                    etag.clone()
                } else {
                    format!("\"{etag}\"")
                };
                match upload.parts.get(number) {
                    Some((data, have)) if *have == want => {
                        if i + 1 < listed.len() && data.len() < MIN_PART_SIZE {
                            return Err(S3Error::new("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
                                .with("PartNumber", number.to_string()));
                        }
                    }
                    _ => {
                        return Err(S3Error::new("InvalidPart", 400, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
                            .with("PartNumber", number.to_string()));
                    }
                }
            }
            uploads.remove(id).ok_or_else(|| Self::no_such_upload(id))?
        };
        let mut data = Vec::with_capacity(
            listed
                .iter()
                .filter_map(|(n, _)| upload.parts.get(n))
                .map(|(d, _)| d.len())
                .sum(),
        );
        let mut digests = Vec::with_capacity(listed.len() * 16);
        for (number, _) in listed {
            if let Some((part, _)) = upload.parts.get(number) {
                data.extend_from_slice(part);
                digests.extend_from_slice(&Md5::digest(part));
            }
        }
        let etag = format!(
            "\"{}-{}\"",
            hex::encode(Md5::digest(&digests)),
            listed.len()
        );
        let bucket_id = self
            .read()
            .get(bucket)
            .map(|b| b.id)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        self.store_object(
            bucket_id,
            bucket,
            key,
            Bytes::from(data),
            etag,
            upload.content_type,
            upload.metadata,
            upload.headers,
        )
        .await
    }

    pub fn head_object(&self, bucket: &str, key: &str) -> S3Result<ObjectMeta> {
        let buckets = self.read();
        let b = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        b.objects
            .get(key)
            .cloned()
            .ok_or_else(|| S3Error::no_such_key(key))
    }

    pub async fn get_object(&self, bucket: &str, key: &str) -> S3Result<(ObjectMeta, Bytes)> {
        let meta = self.head_object(bucket, key)?;
        if let Some(data) = meta.inline.clone() {
            return Ok((meta, data));
        }
        let inner = self.inner.clone();
        let blob = meta.blob;
        match tokio::task::spawn_blocking(move || inner.blobs.read(blob)).await {
            Ok(Ok(data)) => Ok((meta, data)),
            // Replaced or deleted between the look-up and the read.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(S3Error::no_such_key(key))
            }
            _ => Err(S3Error::internal()),
        }
    }

    /// Deletes an object; deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let (pending, removed) = {
            let mut buckets = self.write();
            let b = buckets
                .get_mut(bucket)
                .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            let Some(removed) = b.objects.remove(key) else {
                return Ok(());
            };
            (
                self.inner.store.submit(vec![Op::DeleteItem {
                    owner: b.id,
                    key: removed.blob,
                }]),
                removed,
            )
        };
        Self::durable(pending).await?;
        self.remove_bytes(&removed);
        Ok(())
    }

    /// Keys in order after `after`, grouped by `delimiter` after `prefix`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> S3Result<Listing> {
        let buckets = self.read();
        let b = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        let mut listing = Listing::default();
        let range = b.objects.range::<str, _>((
            after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            std::ops::Bound::Unbounded,
        ));
        let mut count = 0;
        for (key, meta) in range {
            if !key.starts_with(prefix) {
                if key.as_str() > prefix {
                    break;
                }
                continue;
            }
            let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                key[prefix.len()..]
                    .find(d)
                    .map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(common) = &rolled
                && listing.common_prefixes.last() == Some(common)
            {
                continue;
            }
            if count == max {
                listing.truncated = true;
                break;
            }
            count += 1;
            match rolled {
                Some(common) => {
                    listing.last = Some(common.clone());
                    listing.common_prefixes.push(common);
                }
                None => {
                    listing.last = Some(key.clone());
                    listing.objects.push(meta.clone());
                }
            }
        }
        // A common prefix is finished only when every key under it was skipped:
        // continue after the last key that shares it.
        if let Some(last) = &listing.last
            && listing.common_prefixes.last() == Some(last)
        {
            let under = b
                .objects
                .range::<str, _>((
                    std::ops::Bound::Included(last.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(k, _)| k.starts_with(last.as_str()))
                .last();
            if let Some((k, _)) = under {
                listing.last = Some(k.clone());
            }
        }
        Ok(listing)
    }

    /// Objects of a bucket for the console.
    pub fn object_count(&self, bucket: &str) -> usize {
        self.read().get(bucket).map_or(0, |b| b.objects.len())
    }
}

fn validate_key(key: &str) -> S3Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(S3Error::new("KeyTooLongError", 400, "Your key is too long").with("Key", key));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object record exactly as it was written before inline objects
    /// existed: the metadata alone, its bytes in the file named by `blob`.
    #[derive(Serialize)]
    struct OldObjectMeta {
        key: String,
        size: u64,
        etag: String,
        content_type: String,
        last_modified_ms: u64,
        metadata: BTreeMap<String, String>,
        headers: BTreeMap<String, String>,
        blob: u64,
    }

    /// The engine over what a store loaded, with its files in `dir`.
    fn open(loaded: Loaded, dir: &std::path::Path) -> S3 {
        let (store, _) = Store::memory();
        S3::new(
            Clock::virtual_at_now(),
            store,
            loaded,
            Some(dir.to_path_buf()),
        )
        .unwrap()
    }

    fn bucket_record(name: &str) -> Vec<u8> {
        encode(&BucketRecord {
            name: name.to_owned(),
            region: "us-east-1".to_owned(),
            created_ms: 1,
        })
    }

    fn meta(key: &str, blob: u64, inline: Option<&[u8]>) -> ObjectMeta {
        ObjectMeta {
            key: key.to_owned(),
            size: inline.map_or(3, |d| d.len() as u64),
            etag: "\"e\"".to_owned(),
            content_type: "text/plain".to_owned(),
            last_modified_ms: 7,
            metadata: BTreeMap::from([("kind".to_owned(), "old".to_owned())]),
            headers: BTreeMap::new(),
            blob,
            inline: inline.map(Bytes::copy_from_slice),
        }
    }

    #[tokio::test]
    async fn records_of_the_old_format_load_with_their_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("5"), b"old").unwrap();
        let old = postcard::to_allocvec(&OldObjectMeta {
            key: "a/old.json".to_owned(),
            size: 3,
            etag: "\"e\"".to_owned(),
            content_type: "application/json".to_owned(),
            last_modified_ms: 7,
            metadata: BTreeMap::from([("kind".to_owned(), "old".to_owned())]),
            headers: BTreeMap::new(),
            blob: 5,
        })
        .unwrap();
        let new = object_record(&meta("a/new.json", 6, Some(b"inline bytes")));
        let loaded = Loaded {
            resources: vec![(1, bucket_record("events"))],
            items: vec![(1, 5, old, None), (1, 6, new, None)],
        };
        let s3 = open(loaded, dir.path());
        let (meta, data) = s3.get_object("events", "a/old.json").await.unwrap();
        assert_eq!(&data[..], b"old");
        assert_eq!(meta.content_type, "application/json");
        assert_eq!(meta.metadata["kind"], "old");
        assert!(meta.inline.is_none());
        let (meta, data) = s3.get_object("events", "a/new.json").await.unwrap();
        assert_eq!(&data[..], b"inline bytes");
        assert_eq!(meta.size, 12);
        // The old object's file is kept; a new id does not collide with it.
        assert!(dir.path().join("5").exists());
        let put = s3
            .put_object(
                "events",
                "a/next",
                Bytes::from_static(b"x"),
                "text/plain".to_owned(),
                BTreeMap::new(),
                BTreeMap::new(),
            )
            .await
            .unwrap();
        assert!(put.blob > 6);
    }

    #[test]
    fn records_round_trip_and_a_damaged_one_is_refused() {
        let file = meta("k", 9, None);
        assert_eq!(decode_object(&object_record(&file)), Some(file));
        let inline = meta("k", 9, Some(b"{\"a\":1}"));
        let record = object_record(&inline);
        assert_eq!(record[..2], INLINE_TAG);
        assert_eq!(decode_object(&record), Some(inline));
        // Bytes missing, or a layout this version does not know.
        assert_eq!(decode_object(&record[..record.len() - 1]), None);
        let mut unknown = record.clone();
        unknown[1] = 2;
        assert_eq!(decode_object(&unknown), None);
        assert_eq!(decode_object(&[]), None);
    }

    #[tokio::test]
    async fn an_older_version_left_beside_a_newer_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("3"), b"abc").unwrap();
        let loaded = Loaded {
            resources: vec![(1, bucket_record("b1"))],
            items: vec![
                (1, 3, object_record(&meta("k", 3, None)), None),
                (1, 4, object_record(&meta("k", 4, Some(b"newer"))), None),
            ],
        };
        let s3 = open(loaded, dir.path());
        let (_, data) = s3.get_object("b1", "k").await.unwrap();
        assert_eq!(&data[..], b"newer");
        // The older version's file is no object's any more: removed at start.
        assert!(!dir.path().join("3").exists());
    }
}
