//! Bundle storage on the local file system, and the prefix wrapper used for
//! S3-style stores (exercised with object_store's in-memory store).

use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use installhub_domain::PackageId;
use installhub_store::{BundleStore, ObjectInfo, StoreError};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;

/// Deterministic, non-repeating-looking bytes (a small xorshift), so a
/// misplaced chunk cannot compare equal by accident.
fn test_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn read_all(store: &BundleStore, key: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> = store
        .get(key, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn package_key_layout() {
    let id = PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").unwrap();
    assert_eq!(
        BundleStore::package_key(&id),
        "packages/pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33.zip"
    );
}

#[tokio::test]
async fn large_file_round_trip_with_ranges() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("bundles/not-yet-created");
    let store = BundleStore::local(&root).unwrap();
    assert!(root.is_dir());

    // 8 MiB chunks: 20 MiB + a bit is three parts, the last one short.
    let data = test_bytes(20 * 1024 * 1024 + 12_345);
    let file = write_file(scratch.path(), "big.zip", &data);
    let id = PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").unwrap();
    let key = BundleStore::package_key(&id);

    assert_eq!(store.head(&key).await.unwrap(), None);
    let size = store.put_file(&key, &file).await.unwrap();
    assert_eq!(size, data.len() as u64);
    assert_eq!(
        store.head(&key).await.unwrap(),
        Some(ObjectInfo {
            size: data.len() as u64
        })
    );
    assert_eq!(
        std::fs::read(root.join("packages").join(format!("{id}.zip"))).unwrap(),
        data,
        "stored where package_key says"
    );

    let whole = store.get(&key, None).await.unwrap();
    let chunks: Vec<bytes::Bytes> = whole.try_collect().await.unwrap();
    assert!(chunks.len() > 1, "streamed in several chunks");
    assert_eq!(chunks.concat(), data);

    // A range across the 8 MiB part boundary, one at the start, one at the end.
    let boundary = 8 * 1024 * 1024_u64;
    for range in [
        boundary - 100..boundary + 100,
        0..1,
        data.len() as u64 - 10..data.len() as u64,
    ] {
        let expected = &data[range.start as usize..range.end as usize];
        assert_eq!(read_all(&store, &key, Some(range.clone())).await, expected);
    }
    // An end past the object is cut to its end.
    let tail = data.len() as u64 - 5;
    assert_eq!(
        read_all(&store, &key, Some(tail..tail + 1000)).await,
        &data[tail as usize..]
    );

    store.delete(&key).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap(), None);
    assert!(matches!(
        store.get(&key, None).await,
        Err(StoreError::NotFound(_))
    ));
    // Deleting again is not an error.
    store.delete(&key).await.unwrap();
}

#[tokio::test]
async fn small_and_empty_files_and_overwrite() {
    let scratch = tempfile::tempdir().unwrap();
    let store = BundleStore::local(&scratch.path().join("store")).unwrap();

    let small = test_bytes(3_000);
    let path = write_file(scratch.path(), "small.zip", &small);
    assert_eq!(
        store.put_file("packages/a.zip", &path).await.unwrap(),
        3_000
    );
    assert_eq!(read_all(&store, "packages/a.zip", None).await, small);

    // Exactly one chunk: takes the multipart path with a single part.
    let exact = test_bytes(8 * 1024 * 1024);
    let path = write_file(scratch.path(), "exact.zip", &exact);
    assert_eq!(
        store.put_file("packages/a.zip", &path).await.unwrap(),
        exact.len() as u64
    );
    assert_eq!(
        read_all(&store, "packages/a.zip", None).await,
        exact,
        "replaced"
    );

    let path = write_file(scratch.path(), "empty.zip", &[]);
    assert_eq!(
        store.put_file("packages/empty.zip", &path).await.unwrap(),
        0
    );
    assert_eq!(
        store.head("packages/empty.zip").await.unwrap(),
        Some(ObjectInfo { size: 0 })
    );
}

#[tokio::test]
async fn bad_keys_and_missing_files_are_errors() {
    let scratch = tempfile::tempdir().unwrap();
    let store = BundleStore::local(&scratch.path().join("store")).unwrap();
    let path = write_file(scratch.path(), "f.zip", b"x");
    for key in ["../escape.zip", "packages/../../x", "a//b", ""] {
        assert!(
            matches!(
                store.put_file(key, &path).await,
                Err(StoreError::ObjectStore(_))
            ),
            "{key:?}"
        );
    }
    assert!(!scratch.path().join("escape.zip").exists());
    assert!(matches!(
        store
            .put_file("packages/x.zip", &scratch.path().join("missing"))
            .await,
        Err(StoreError::Io(_))
    ));
}

#[tokio::test]
async fn object_store_with_prefix() {
    let inner = Arc::new(InMemory::new());
    let store = BundleStore::from_object_store(inner.clone(), "/installhub/bundles/").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let data = test_bytes(10 * 1024 * 1024);
    let path = write_file(scratch.path(), "p.zip", &data);

    store.put_file("packages/p.zip", &path).await.unwrap();
    let raw = inner
        .get(&ObjectPath::parse("installhub/bundles/packages/p.zip").unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(raw, data, "written under the prefix");
    assert_eq!(
        read_all(&store, "packages/p.zip", Some(5..9)).await,
        &data[5..9]
    );

    let unprefixed = BundleStore::from_object_store(inner.clone(), "").unwrap();
    assert_eq!(
        unprefixed
            .head("installhub/bundles/packages/p.zip")
            .await
            .unwrap(),
        Some(ObjectInfo {
            size: data.len() as u64
        })
    );
    store.delete("packages/p.zip").await.unwrap();
    assert_eq!(store.head("packages/p.zip").await.unwrap(), None);
}

/// Sets a file's modification time `secs` seconds into the past.
fn age(path: &Path, secs: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[tokio::test]
async fn old_objects_are_listed_and_interrupted_local_writes_swept() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("bundles");
    let store = BundleStore::local(&root).unwrap();
    let file = write_file(scratch.path(), "b.zip", b"bundle");
    store.put_file("packages/old.zip", &file).await.unwrap();
    store.put_file("packages/new.zip", &file).await.unwrap();
    store.put_file("elsewhere/old.zip", &file).await.unwrap();
    age(&root.join("packages/old.zip"), 7200);
    age(&root.join("elsewhere/old.zip"), 7200);
    // What a process killed inside object_store's local put leaves.
    let staging_old = write_file(&root.join("packages"), "cut.zip#1", b"bun");
    let staging_new = write_file(&root.join("packages"), "cut.zip#2", b"bu");
    age(&staging_old, 7200);

    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(
        store.list_older_than("packages/", hour_ago).await.unwrap(),
        vec!["packages/old.zip".to_owned()]
    );
    assert_eq!(
        store
            .sweep_interrupted_writes("packages/", hour_ago)
            .await
            .unwrap(),
        1
    );
    assert!(!staging_old.exists() && staging_new.exists());
    assert_eq!(
        store
            .sweep_interrupted_writes("nothing-here/", hour_ago)
            .await
            .unwrap(),
        0
    );
    // A bucket has no staging files to sweep.
    let memory = BundleStore::from_object_store(Arc::new(InMemory::new()), "p").unwrap();
    assert_eq!(
        memory
            .sweep_interrupted_writes("packages/", hour_ago)
            .await
            .unwrap(),
        0
    );
}
