//! Bundle files in object storage: a local directory by default, any
//! `object_store` backend (S3 and compatibles) for a scaled-out deployment.
//!
//! Bundles are written from a file and read back as a stream, a chunk at a
//! time, so a large package never sits in memory whole.
//!
//! A stored bundle is durable before [`BundleStore::put_file`] returns, so
//! the package row that names it (committed after) never outlives it: S3
//! acknowledges a put only once it is stored; on local disk the file and
//! its directories are fsynced, which object_store's local store does not
//! do. A crash between the put and the row leaves a bundle no row names,
//! which [`BundleStore::list_older_than`] lets start-up find and delete.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use installhub_domain::PackageId;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::error::{Result, StoreError};

/// Bytes read from the file per step, and the size of each multipart part.
/// S3 wants parts of at least 5 MiB; a file that fits in one chunk is sent
/// with a single put.
const CHUNK_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once; with the chunk being filled this bounds the
/// memory one upload uses to about `(MAX_PARTS_IN_FLIGHT + 1) * CHUNK_SIZE`.
const MAX_PARTS_IN_FLIGHT: usize = 2;

/// What `head` tells about a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
}

/// Where package bundles are kept.
#[derive(Debug, Clone)]
pub struct BundleStore {
    store: Arc<dyn ObjectStore>,
    /// The directory of a local store: where written bundles are fsynced
    /// and interrupted writes are swept.
    local_root: Option<PathBuf>,
}

impl BundleStore {
    /// Bundles as files under `dir`, which is created if missing.
    pub fn local(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let root = std::fs::canonicalize(dir)?;
        // Automatic cleanup removes directories that a delete leaves empty.
        let fs = LocalFileSystem::new_with_prefix(&root)?.with_automatic_cleanup(true);
        Ok(BundleStore {
            store: Arc::new(fs),
            local_root: Some(root),
        })
    }

    /// Bundles in an S3-compatible bucket: `url` is `s3://bucket[/prefix]`.
    /// Credentials, region and endpoint come from the usual `AWS_*`
    /// variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...); `options` (object_store's S3
    /// configuration keys, e.g. `endpoint`, `allow_http`) override them.
    pub fn s3(url: &str, options: &[(String, String)]) -> Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            StoreError::InvalidBundleStore(format!("'{url}' is not an s3:// URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::InvalidBundleStore(format!(
                "'{url}' names no bucket: use s3://bucket/prefix"
            )));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in options {
            let key = AmazonS3ConfigKey::from_str(key).map_err(|_| {
                StoreError::InvalidBundleStore(format!("unknown S3 option '{key}'"))
            })?;
            builder = builder.with_config(key, value);
        }
        let s3 = builder
            .build()
            .map_err(|e| StoreError::InvalidBundleStore(format!("{url}: {e}")))?;
        Self::from_object_store(Arc::new(s3), prefix)
    }

    /// Bundles in any object store (an S3 bucket, say), under `prefix`
    /// (`""` for the store's root).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Ok(BundleStore {
                store,
                local_root: None,
            });
        }
        let prefix = ObjectPath::parse(prefix)?;
        Ok(BundleStore {
            store: Arc::new(PrefixStore::new(store, prefix)),
            local_root: None,
        })
    }

    /// The key of a package's bundle: `packages/<packageId>.zip`.
    pub fn package_key(package_id: &PackageId) -> String {
        format!("packages/{package_id}.zip")
    }

    /// Stores the file at `path` under `key`, replacing any object there,
    /// and returns the number of bytes stored. The object appears whole or
    /// not at all, and is durable when this returns.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64> {
        let size = self.put_file_unsynced(key, path).await?;
        if let Some(root) = &self.local_root {
            let root = root.clone();
            let key = key.to_owned();
            tokio::task::spawn_blocking(move || sync_local(&root, &key))
                .await
                .map_err(std::io::Error::other)??;
        }
        Ok(size)
    }

    async fn put_file_unsynced(&self, key: &str, path: &Path) -> Result<u64> {
        let location = ObjectPath::parse(key)?;
        let mut file = tokio::fs::File::open(path).await?;
        let size_hint = file.metadata().await?.len();
        let first = read_chunk(&mut file, size_hint).await?;
        if first.len() < CHUNK_SIZE {
            // The whole file fit in one chunk: one request, no multipart.
            let size = first.len() as u64;
            self.store
                .put(&location, PutPayload::from(Bytes::from(first)))
                .await?;
            return Ok(size);
        }
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK_SIZE);
        let mut size = first.len() as u64;
        writer.put(Bytes::from(first));
        loop {
            let chunk = match writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
                Ok(()) => read_chunk(&mut file, size_hint.saturating_sub(size)).await,
                Err(err) => Err(err.into()),
            };
            match chunk {
                Ok(chunk) if chunk.is_empty() => break,
                Ok(chunk) => {
                    size += chunk.len() as u64;
                    writer.put(Bytes::from(chunk));
                }
                Err(err) => {
                    // Leave no half-written object or staged parts behind.
                    if let Err(abort) = writer.abort().await {
                        tracing::warn!(%key, error = %abort, "aborting a bundle upload failed");
                    }
                    return Err(err);
                }
            }
        }
        writer.finish().await?;
        Ok(size)
    }

    /// The object's size, or `None` if there is no object under `key`.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let location = ObjectPath::parse(key)?;
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(ObjectInfo { size: meta.size })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Streams the object, or the bytes of `range` (end exclusive; it must
    /// be non-empty and start inside the object; an end past the object's
    /// end is cut to it). [`StoreError::NotFound`] if there is no object.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>> {
        let location = ObjectPath::parse(key)?;
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        match self.store.get_opts(&location, options).await {
            Ok(result) => Ok(result.into_stream().map_err(StoreError::from).boxed()),
            Err(object_store::Error::NotFound { .. }) => {
                Err(StoreError::NotFound(format!("bundle '{key}'")))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The keys under `prefix` (e.g. `packages/`) last written before
    /// `before`, in no particular order.
    pub async fn list_older_than(
        &self,
        prefix: &str,
        before: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let prefix = ObjectPath::parse(prefix)?;
        self.store
            .list(Some(&prefix))
            .try_filter_map(|meta| async move {
                Ok((meta.last_modified < before).then(|| meta.location.to_string()))
            })
            .try_collect()
            .await
            .map_err(StoreError::from)
    }

    /// Deletes the staging files of local writes under `prefix` that a
    /// killed process left behind (`<key>#<n>`, which listing never shows)
    /// when last written before `before`; returns how many. A bucket keeps
    /// no such files: its unfinished multipart uploads are for a lifecycle
    /// rule.
    pub async fn sweep_interrupted_writes(
        &self,
        prefix: &str,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let Some(root) = &self.local_root else {
            return Ok(0);
        };
        let dir = local_path(root, prefix.trim_end_matches('/'));
        let before = std::time::SystemTime::from(before);
        let swept = tokio::task::spawn_blocking(move || sweep_staging(&dir, before))
            .await
            .map_err(std::io::Error::other)?;
        match swept {
            Ok(count) => Ok(count),
            // Nothing was ever written under the prefix.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the object. Deleting a missing object succeeds, so a retried
    /// cleanup does not fail.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let location = ObjectPath::parse(key)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

/// Walks `dir` for object_store's staging files (a name ending in `#`
/// and digits) older than `before`, deleting them.
fn sweep_staging(dir: &Path, before: std::time::SystemTime) -> std::io::Result<u64> {
    let mut deleted = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            deleted += sweep_staging(&entry.path(), before)?;
            continue;
        }
        let name = entry.file_name();
        let is_staging =
            name.to_str()
                .and_then(|n| n.rsplit_once('#'))
                .is_some_and(|(_, suffix)| {
                    !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())
                });
        if is_staging && kind.is_file() && entry.metadata()?.modified()? < before {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => deleted += 1,
                // Its writer finished or another sweep got there first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}

/// Where a local store keeps `key`. Our keys are `/`-separated plain names
/// (`packages/<id>.zip`), which object_store's local store maps one-to-one
/// onto paths under its root.
fn local_path(root: &Path, key: &str) -> PathBuf {
    key.split('/')
        .fold(root.to_path_buf(), |path, part| path.join(part))
}

/// Flushes a local bundle to disk: its bytes, then each directory from its
/// own up to the store's root, so that the rename that published it, and
/// the directory that rename went into, survive a power cut.
fn sync_local(root: &Path, key: &str) -> std::io::Result<()> {
    let file = local_path(root, key);
    std::fs::File::open(&file)?.sync_all()?;
    let mut dir = file.parent();
    while let Some(current) = dir {
        std::fs::File::open(current)?.sync_all()?;
        if current == root {
            break;
        }
        dir = current.parent();
    }
    Ok(())
}

/// Reads up to [`CHUNK_SIZE`] bytes (fewer only at the end of the file).
/// `remaining_hint` only sizes the buffer; the file is read to its real end.
async fn read_chunk(file: &mut tokio::fs::File, remaining_hint: u64) -> Result<Vec<u8>> {
    let capacity = usize::try_from(remaining_hint).map_or(CHUNK_SIZE, |n| n.min(CHUNK_SIZE));
    let mut buf = Vec::with_capacity(capacity);
    (&mut *file)
        .take(CHUNK_SIZE as u64)
        .read_to_end(&mut buf)
        .await?;
    Ok(buf)
}
