//! `installhub download`: streams a package's ZIP to disk with a progress
//! bar. The bytes go to a temporary file next to the target and are renamed
//! into place only when complete, so an interrupted download never leaves a
//! truncated `.zip` that looks finished.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{Client, ClientError, Connection, finish, print_json, root_cause};

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The package id (`pkg-…`), as `export` printed it.
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    /// Where to save: a file, or an existing directory to save into under
    /// the server's file name. Default: the server's file name
    /// (`<name>-<version>.zip`) in the current directory.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print `{path, sizeBytes, sha256}` as JSON, and no progress bar.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    path: String,
    size_bytes: u64,
    sha256: String,
}

pub async fn run(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(download(args).await, json))
}

async fn download(args: DownloadArgs) -> Result<(), ClientError> {
    check_package_id(&args.package_id)?;
    let client = Client::new(&args.connection)?;

    // A named file is checked before anything is fetched; a directory (or
    // none) waits for the server's file name.
    let (explicit_file, dir) = match &args.output {
        Some(path) if !path.is_dir() => (Some(path.clone()), None),
        Some(dir) => (None, Some(dir.clone())),
        None => (None, None),
    };
    if let Some(path) = &explicit_file {
        refuse_existing(path, args.force)?;
    }

    let mut response = client
        .get(&format!(
            "api/installhub/packages/{}/download",
            args.package_id
        ))
        .await?;
    let headers = response.headers();
    let expected_len = response.content_length();
    let etag_sha256 = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(sha256_from_etag);
    let target = match explicit_file {
        Some(path) => path,
        None => {
            let name = headers
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(filename_from_disposition)
                .unwrap_or_else(|| format!("{}.zip", args.package_id));
            let path = dir.map_or_else(|| PathBuf::from(&name), |d| d.join(&name));
            refuse_existing(&path, args.force)?;
            path
        }
    };

    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".installhub-download-").suffix(".part");
    // tempfile's default 0600 suits secrets; a package is an ordinary file
    // and gets what any new file gets (0666 less the umask).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temp = builder
        .tempfile_in(&parent)
        .map_err(|e| io_error(format!("cannot create a file in {}", parent.display()), &e))?;
    let std_file = temp
        .as_file()
        .try_clone()
        .map_err(|e| io_error(format!("cannot write {}", temp.path().display()), &e))?;
    let mut file = tokio::fs::File::from_std(std_file);

    let bar = progress_bar(expected_len, args.json, &target);
    let received = tokio::select! {
        result = receive(&mut response, &mut file, temp.path(), &bar, client.server()) => result,
        // Returning (rather than dying on the signal) drops `temp`, which
        // removes the partial file. If no handler can be installed, the
        // branch is disabled rather than taken.
        Ok(()) = tokio::signal::ctrl_c() => Err(ClientError::local(
            "Interrupted",
            "the download was interrupted; nothing was saved",
        )),
    };
    bar.finish_and_clear();
    let (received, sha256) = received?;
    drop(file);

    if let Some(expected) = expected_len
        && expected != received
    {
        return Err(ClientError::local(
            "DownloadFailed",
            format!("the server announced {expected} bytes but sent {received}; nothing was saved"),
        ));
    }
    // InstallHub's ETag is the ZIP's SHA-256; a quoted hex digest that
    // disagrees means the bytes were damaged on the way.
    if let Some(expected) = etag_sha256
        && expected != sha256
    {
        return Err(ClientError::local(
            "DownloadCorrupt",
            format!(
                "the file hashes to sha256 {sha256} but the server's ETag says {expected}; nothing was saved"
            ),
        ));
    }

    let persisted = if args.force {
        temp.persist(&target)
    } else {
        temp.persist_noclobber(&target)
    };
    if let Err(e) = persisted {
        // The temporary file is removed when the error drops it.
        return Err(if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists_error(&target)
        } else {
            io_error(format!("cannot save {}", target.display()), &e.error)
        });
    }

    let saved = Saved {
        path: target.display().to_string(),
        size_bytes: received,
        sha256,
    };
    if args.json {
        print_json(&saved);
    } else {
        outln!(
            "Saved {path}\n  size:    {size} bytes ({human})\n  sha256:  {sha}\n\nCheck it with:\n  installhub verify {path}",
            path = saved.path,
            size = saved.size_bytes,
            human = HumanBytes(saved.size_bytes),
            sha = saved.sha256,
        );
    }
    Ok(())
}

/// Streams the body into `file`, hashing and counting as it goes, and
/// makes it durable. Returns the byte count and the hex SHA-256.
async fn receive(
    response: &mut reqwest::Response,
    file: &mut tokio::fs::File,
    temp_path: &Path,
    bar: &ProgressBar,
    server: &str,
) -> Result<(u64, String), ClientError> {
    let write_failed =
        |e: std::io::Error| io_error(format!("cannot write {}", temp_path.display()), &e);
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                return Err(ClientError::local(
                    "DownloadFailed",
                    format!(
                        "the download from {server} stopped after {received} bytes: {}; nothing was saved",
                        root_cause(&e)
                    ),
                ));
            }
        };
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(write_failed)?;
        received += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    file.flush().await.map_err(write_failed)?;
    // On disk before the rename, so a crash cannot leave a complete-looking
    // name over incomplete bytes.
    file.sync_all().await.map_err(write_failed)?;
    Ok((received, hex::encode(hasher.finalize())))
}

/// Package ids are `pkg-<uuid>`; anything else that could change the
/// request path (`/`, `..`, `?`) is refused here rather than sent.
fn check_package_id(id: &str) -> Result<(), ClientError> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ClientError::local(
            "InvalidPackageId",
            format!(
                "'{id}' is not a package id (expected pkg-<uuid>, as 'installhub export' prints it)"
            ),
        ))
    }
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), ClientError> {
    if path.exists() && !force {
        Err(exists_error(path))
    } else {
        Ok(())
    }
}

fn exists_error(path: &Path) -> ClientError {
    ClientError::local(
        "FileExists",
        format!(
            "{} already exists; pass --force to replace it or -o to save elsewhere",
            path.display()
        ),
    )
}

fn io_error(what: String, error: &std::io::Error) -> ClientError {
    ClientError::local("IoError", format!("{what}: {error}"))
}

/// Bytes, rate and ETA on stderr; hidden for scripts and pipes.
fn progress_bar(len: Option<u64>, json: bool, target: &Path) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()),
            "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{spinner} {msg} {bytes} {binary_bytes_per_sec}",
        ),
    };
    let style = ProgressStyle::with_template(template)
        .expect("the progress templates are fixed and valid")
        .progress_chars("=> ");
    bar.set_style(style);
    let name = target.file_name().unwrap_or(target.as_os_str());
    bar.set_message(format!("Downloading {}", name.to_string_lossy()));
    bar
}

/// `"<64 hex digits>"` (optionally weak, `W/"…"`) as lower-case hex.
fn sha256_from_etag(etag: &str) -> Option<String> {
    let inner = etag
        .trim()
        .trim_start_matches("W/")
        .strip_prefix('"')?
        .strip_suffix('"')?;
    (inner.len() == 64 && inner.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| inner.to_ascii_lowercase())
}

/// The `filename` parameter of a `Content-Disposition` value, made safe to
/// use as a file name in the current directory.
fn filename_from_disposition(value: &str) -> Option<String> {
    let (_, mut rest) = value.split_once(';')?;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim();
        rest = &rest[name_end..];
        let Some(after_eq) = rest.strip_prefix('=') else {
            continue;
        };
        let after_eq = after_eq.trim_start();
        let (param, remaining) = if let Some(quoted) = after_eq.strip_prefix('"') {
            quoted_string(quoted)?
        } else {
            let end = after_eq.find(';').unwrap_or(after_eq.len());
            (after_eq[..end].trim().to_owned(), &after_eq[end..])
        };
        rest = remaining;
        if name.eq_ignore_ascii_case("filename") {
            return sanitize_file_name(&param);
        }
    }
}

/// Reads an RFC 9110 quoted-string body (after the opening quote): the
/// unescaped text and what follows the closing quote.
fn quoted_string(input: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &input[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// Keeps only the last path component and a conservative character set,
/// with no `..` and no leading dot: the server's suggestion must not be able
/// to write outside the target directory or hide the file.
fn sanitize_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while cleaned.contains("..") {
        cleaned = cleaned.replace("..", ".");
    }
    let mut cleaned = cleaned.trim_start_matches('.').to_owned();
    // Well under every file system's 255-byte limit; all ASCII by now.
    cleaned.truncate(200);
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_file_name_is_taken_from_content_disposition() {
        assert_eq!(
            filename_from_disposition(
                "attachment; filename=\"employee-onboarding-suite-2.1.0.zip\""
            )
            .as_deref(),
            Some("employee-onboarding-suite-2.1.0.zip")
        );
        assert_eq!(
            filename_from_disposition("attachment; size=3; FileName=plain.zip; x=y").as_deref(),
            Some("plain.zip")
        );
        assert_eq!(
            filename_from_disposition("attachment; note=\"a;filename=evil\"; filename=\"ok.zip\"")
                .as_deref(),
            Some("ok.zip")
        );
        assert_eq!(filename_from_disposition("attachment").as_deref(), None);
        assert_eq!(
            filename_from_disposition("attachment; filename=\"unterminated").as_deref(),
            None
        );
    }

    #[test]
    fn file_names_cannot_escape_or_hide() {
        assert_eq!(
            sanitize_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            sanitize_file_name("C:\\Windows\\evil.zip").as_deref(),
            Some("evil.zip")
        );
        assert_eq!(sanitize_file_name("..").as_deref(), None);
        assert_eq!(sanitize_file_name(".bashrc").as_deref(), Some("bashrc"));
        assert_eq!(sanitize_file_name("a..b.zip").as_deref(), Some("a.b.zip"));
        assert_eq!(sanitize_file_name("a...b").as_deref(), Some("a.b"));
        assert_eq!(
            sanitize_file_name("my pkg:1.zip").as_deref(),
            Some("my_pkg_1.zip")
        );
        assert_eq!(sanitize_file_name("x/").as_deref(), None);
        assert_eq!(
            sanitize_file_name(&"a".repeat(300)).map(|s| s.len()),
            Some(200)
        );
    }

    #[test]
    fn escaped_quotes_in_a_file_name_are_unescaped_then_sanitised() {
        assert_eq!(
            filename_from_disposition(r#"attachment; filename="a\"b.zip""#).as_deref(),
            Some("a_b.zip")
        );
    }

    #[test]
    fn package_ids_cannot_change_the_request_path() {
        assert!(check_package_id("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").is_ok());
        for bad in ["", "..", "../tenants", "pkg/x", "pkg?x=1", "pkg x"] {
            assert!(check_package_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn etags_give_a_sha256_only_when_they_are_one() {
        let hex = "ab".repeat(32);
        assert_eq!(sha256_from_etag(&format!("\"{hex}\"")), Some(hex.clone()));
        assert_eq!(
            sha256_from_etag(&format!("W/\"{}\"", hex.to_uppercase())),
            Some(hex)
        );
        assert_eq!(sha256_from_etag("\"v1\""), None);
        assert_eq!(sha256_from_etag("abc"), None);
    }
}
