//! Where the import wizard keeps an uploaded bundle between its steps.
//!
//! The API takes the package and its options in one request; the wizard
//! takes the package first, shows its scan and its dry run, lets the user
//! choose a strategy per conflict, and imports only on confirmation. The
//! bundle must therefore outlive the upload's request. It is kept on the
//! server, never sent back to the browser, because the browser would have
//! to upload it again at every step, and a copy coming back could differ
//! from the one that was scanned and planned.
//!
//! Each upload gets a directory `<data_dir>/console-uploads/<id>/` with the
//! bundle (`bundle.zip`) and what the wizard knows of it (`upload.json`):
//!
//! - **Unguessable id**: 32 random bytes in hex, so the address of someone
//!   else's upload cannot be found by trying.
//! - **Bound to the signed-in subject and the tenant**: every step loads it
//!   only for the token subject that uploaded it and the tenant in the
//!   address; any other caller, or another tenant's address, gets the same
//!   404 as an id that does not exist, so nothing tells them it exists.
//! - **Bounded**: at most [`MAX_PER_SUBJECT`] uploads per subject and
//!   [`MAX_UPLOADS`] in all, each no larger than the API's upload limit, so
//!   the directory never holds more than `MAX_UPLOADS` times that limit.
//!   The slot is taken (its directory made) before the body is read.
//! - **Expired**: an upload is refused [`TTL`] after it was made, and
//!   removed by the periodic sweep of leftovers or the next upload,
//!   whichever comes first.
//! - **Removed after the import**: once the confirmed import ran, its
//!   upload is deleted (a refused import keeps it, so the user can choose
//!   again), and so is one the user discards.
//!
//! Files are on disk, not in memory, so the server's memory stays bounded
//! whatever the bundle's size, and any replica that shares the data
//! directory serves the next step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use installhub_domain::{Caller, ErrorCode, Failure, TenantId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::import::ReceivedBundle;
use crate::state::AppState;

/// How long an upload waits for its import.
pub const TTL: Duration = Duration::from_secs(60 * 60);
/// Uploads one subject may have waiting at once.
pub const MAX_PER_SUBJECT: usize = 3;
/// Uploads waiting on this server at once.
pub const MAX_UPLOADS: usize = 32;

const BUNDLE: &str = "bundle.zip";
const RECORD: &str = "upload.json";
/// The directory's owner, written when the slot is taken (before the
/// bundle arrives) so that slots being filled count against the subject.
const OWNER: &str = "owner";

/// Taking a slot counts and creates directories: one at a time.
static SLOTS: Mutex<()> = Mutex::new(());

/// An upload's id: 64 lower-case hex characters.
pub fn valid_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the wizard knows of an upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    /// The token subject that uploaded it.
    pub subject: String,
    pub tenant_id: String,
    pub created_at: DateTime<Utc>,
    /// The file name the browser sent, for display only.
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    /// The scan's answer, as `POST /api/installhub/packages/scan` answers it.
    pub scan: Value,
    /// The strategy chosen per artifact id.
    #[serde(default)]
    pub strategies: BTreeMap<String, String>,
    /// `allowSecurityWarnings`, as ticked.
    #[serde(default)]
    pub allow_security_warnings: bool,
    /// `allowMajorVersionUpgrade`, as ticked.
    #[serde(default)]
    pub allow_major_version_upgrade: bool,
    /// The last dry run's status and body (the API's answer or its error
    /// envelope).
    pub dry_run_status: u16,
    pub dry_run: Value,
}

fn root(state: &AppState) -> PathBuf {
    uploads_dir(&state.config().data_dir)
}

fn uploads_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("console-uploads")
}

/// Removes the uploads older than [`TTL`] (blocking: call off the async
/// threads); answers how many. The periodic sweep of leftovers runs it,
/// and so does every new upload before it counts the waiting ones.
pub fn sweep_expired(data_dir: &Path) -> std::io::Result<u64> {
    let root = uploads_dir(data_dir);
    let _one_at_a_time = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
    remove_expired(&root, SystemTime::now())
}

fn remove_expired(root: &Path, now: SystemTime) -> std::io::Result<u64> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if expired(&path, now) && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "This upload does not exist: it was imported or discarded already, it is older than {} minutes, or it was made by someone else or for another tenant. Upload the package again.",
            TTL.as_secs() / 60
        ),
    )
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn expired(dir: &Path, now: SystemTime) -> bool {
    std::fs::metadata(dir)
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .map(|made| now.duration_since(made).unwrap_or_default() > TTL)
        .unwrap_or(true)
}

/// A slot taken for a new upload: its directory, removed when dropped
/// unless the upload was kept.
pub struct Slot {
    pub id: String,
    dir: PathBuf,
    kept: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Slot {
    /// Where the bundle is received.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps the bundle and its record; the slot becomes the upload.
    pub async fn keep(mut self, bundle: ReceivedBundle, upload: &Upload) -> ApiResult<()> {
        let target = self.dir.join(BUNDLE);
        let file = bundle.file;
        tokio::task::spawn_blocking(move || file.persist(target).map(|_| ()))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::internal(e.error))?;
        write_record(&self.dir, upload).await?;
        self.kept = true;
        Ok(())
    }
}

/// Takes a slot for `caller`'s next upload, after removing expired ones;
/// refused while the subject or the server has as many as allowed.
pub async fn take_slot(state: &AppState, caller: &Caller) -> ApiResult<Slot> {
    let root = root(state);
    let subject = caller.subject.clone();
    tokio::task::spawn_blocking(move || take_slot_in(&root, &subject))
        .await
        .map_err(ApiError::internal)?
}

fn take_slot_in(root: &Path, subject: &str) -> ApiResult<Slot> {
    let _one_at_a_time = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
    std::fs::create_dir_all(root).map_err(ApiError::internal)?;
    remove_expired(root, SystemTime::now()).map_err(ApiError::internal)?;
    let mut total = 0;
    let mut mine = 0;
    for entry in std::fs::read_dir(root).map_err(ApiError::internal)? {
        let path = entry.map_err(ApiError::internal)?.path();
        total += 1;
        if std::fs::read_to_string(path.join(OWNER)).is_ok_and(|owner| owner == subject) {
            mine += 1;
        }
    }
    if mine >= MAX_PER_SUBJECT {
        return Err(Failure::new(
            ErrorCode::RateLimitExceeded,
            format!(
                "You have {mine} uploads waiting for their import, the most the console keeps per user. Import or discard one of them, or wait until they expire ({} minutes after their upload).",
                TTL.as_secs() / 60
            ),
        )
        .into());
    }
    if total >= MAX_UPLOADS {
        return Err(Failure::new(
            ErrorCode::RateLimitExceeded,
            format!(
                "The console keeps at most {MAX_UPLOADS} uploads waiting for their import, and has as many now. Try again later."
            ),
        )
        .into());
    }
    let id = random_id();
    let dir = root.join(&id);
    std::fs::create_dir(&dir).map_err(ApiError::internal)?;
    let slot = Slot {
        id,
        dir,
        kept: false,
    };
    std::fs::write(slot.dir.join(OWNER), subject).map_err(ApiError::internal)?;
    Ok(slot)
}

async fn write_record(dir: &Path, upload: &Upload) -> ApiResult<()> {
    let bytes = serde_json::to_vec(upload).map_err(ApiError::internal)?;
    // Written aside and renamed: a reader sees the old record or the new.
    let part = dir.join(format!("{RECORD}.part"));
    tokio::fs::write(&part, bytes)
        .await
        .map_err(ApiError::internal)?;
    tokio::fs::rename(&part, dir.join(RECORD))
        .await
        .map_err(ApiError::internal)
}

/// `caller`'s upload `id` for `tenant`; any other, or an expired one, is
/// answered as missing.
pub async fn load(
    state: &AppState,
    caller: &Caller,
    tenant: &TenantId,
    id: &str,
) -> ApiResult<Upload> {
    if !valid_id(id) {
        return Err(not_found());
    }
    let dir = root(state).join(id);
    let bytes = match tokio::fs::read(dir.join(RECORD)).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let upload: Upload = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    if upload.subject != caller.subject || upload.tenant_id != tenant.as_str() {
        return Err(not_found());
    }
    let age = Utc::now().signed_duration_since(upload.created_at);
    if age.to_std().unwrap_or_default() > TTL {
        remove(state, id).await;
        return Err(not_found());
    }
    Ok(upload)
}

/// Saves what the wizard learnt (a new dry run, new strategies).
pub async fn save(state: &AppState, upload: &Upload) -> ApiResult<()> {
    write_record(&root(state).join(&upload.id), upload).await
}

/// A copy of the upload's bundle for one run of the pipeline, which
/// deletes its input when done: the kept bundle stays as it was scanned.
pub async fn bundle(state: &AppState, upload: &Upload) -> ApiResult<ReceivedBundle> {
    let source = root(state).join(&upload.id).join(BUNDLE);
    let tmp = state.config().tmp_dir();
    let (size, sha256) = (upload.size, upload.sha256.clone());
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&tmp)?;
        let mut file = tempfile::Builder::new()
            .prefix("console-")
            .suffix(".zip")
            .tempfile_in(&tmp)?;
        let mut from = std::fs::File::open(&source)?;
        std::io::copy(&mut from, file.as_file_mut())?;
        Ok::<_, std::io::Error>(ReceivedBundle { file, size, sha256 })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            not_found()
        } else {
            ApiError::internal(e)
        }
    })
}

/// Deletes an upload (after its import, or when discarded).
pub async fn remove(state: &AppState, id: &str) {
    if valid_id(id) {
        let _ = tokio::fs::remove_dir_all(root(state).join(id)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_expire_after_their_time_to_live() {
        let root = tempfile::tempdir().unwrap();
        let first = take_slot_in(root.path(), "user-1").unwrap();
        let dir = first.dir().to_path_buf();
        std::mem::forget(first);
        assert_eq!(remove_expired(root.path(), SystemTime::now()).unwrap(), 0);
        assert!(dir.exists());
        let later = SystemTime::now() + TTL + Duration::from_secs(1);
        assert_eq!(remove_expired(root.path(), later).unwrap(), 1);
        assert!(!dir.exists());
    }

    #[test]
    fn each_subject_has_a_few_slots_and_a_dropped_one_is_freed() {
        let root = tempfile::tempdir().unwrap();
        let kept: Vec<Slot> = (0..MAX_PER_SUBJECT)
            .map(|_| take_slot_in(root.path(), "user-1").unwrap())
            .collect();
        assert!(take_slot_in(root.path(), "user-1").is_err());
        let other = take_slot_in(root.path(), "user-2").unwrap();
        assert!(valid_id(&other.id));
        assert_ne!(other.id, kept[0].id);
        drop(kept);
        assert!(take_slot_in(root.path(), "user-1").is_ok());
    }
}
