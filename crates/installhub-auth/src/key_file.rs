//! Private key files in the data directory: how they are read, checked and
//! created, shared by the local key pair ([`crate::LocalKeyPair`]) and the
//! PublicHub's signing key ([`crate::PublisherKey`]).
//!
//! Several processes may start on the same data directory at once (a
//! server and a `token` command, or replicas in a test). A new private key
//! is therefore published with a no-clobber hard link from a complete
//! temporary file: the first process wins, the others read the winner's
//! key, and nobody ever sees a half-written file or signs with a key that
//! another process has replaced. A key file that exists but cannot be used
//! is an error and is never replaced: what was signed with it depends on it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rsa::pkcs8::der::zeroize::Zeroizing;

use crate::error::KeyError;

/// Loads the private key `dir/name`, or generates one and publishes it
/// there if there is none, creating `dir` as needed.
///
/// `parse` turns the file's text into a key, or says in one phrase why it
/// cannot (the error then names the file). `generate` makes a new key and
/// its PKCS#8 PEM text, which is written with mode 0600.
pub(crate) fn load_or_create<K>(
    dir: &Path,
    name: &str,
    parse: impl Fn(&str) -> Result<K, String>,
    generate: impl FnOnce() -> Result<(K, Zeroizing<String>), KeyError>,
) -> Result<K, KeyError> {
    fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(name);
    let load = |path: &Path| -> Result<Option<K>, KeyError> {
        match read_private(path)? {
            Some(text) => parse(&text)
                .map(Some)
                .map_err(|reason| invalid(path, reason)),
            None => Ok(None),
        }
    };
    if let Some(key) = load(&path)? {
        return Ok(key);
    }

    let (key, pem) = generate()?;
    let tmp = write_temp(dir, name, pem.as_bytes(), 0o600)?;
    // `hard_link` fails if `path` exists, unlike `rename`, which would
    // replace a key another process has already started signing with.
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            load(&path)?.ok_or_else(|| KeyError::Read {
                path: path.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            })
        }
        Err(source) => Err(KeyError::Write { path, source }),
    }
}

/// Reads a private key file's text: `Ok(None)` when there is no file. On
/// unix, a file readable by group or others is refused, as ssh does.
pub(crate) fn read_private(path: &Path) -> Result<Option<Zeroizing<String>>, KeyError> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    check_permissions(path, &metadata)?;
    let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Some(Zeroizing::new(text)))
}

#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

pub(crate) fn invalid(path: &Path, reason: String) -> KeyError {
    KeyError::InvalidKeyFile {
        path: path.to_owned(),
        reason,
    }
}

/// Writes `contents` to a new, uniquely named file in `dir` and syncs it.
pub(crate) fn write_temp(
    dir: &Path,
    name: &str,
    contents: &[u8],
    mode: u32,
) -> Result<PathBuf, KeyError> {
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    let path = dir.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        hex::encode(suffix)
    ));
    let write = |path: &Path| -> io::Result<()> {
        let mut file = open_new(path, mode)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    write(&path).map_err(|source| {
        let _ = fs::remove_file(&path);
        KeyError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // The mode is set at creation, so a private key is never readable by
    // others, not even for an instant.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}
