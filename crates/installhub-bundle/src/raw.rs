//! The archive's raw layout, read before the `zip` crate sees it
//! (SECURITY.md 5, 6 and 7).
//!
//! A bundle must be exactly: local entries tiling the file from byte 0, then
//! the central directory, then a 22-byte end record with no comment. With
//! every byte accounted for there is no room for a polyglot prefix, trailing
//! data, an entry the central directory does not list, or entries sharing
//! bytes (Fifield's overlapping-entry bombs). ZIP64 and multi-disk archives
//! are refused: a bundle never needs them (at most 10,000 entries, far below
//! 4 GiB), and our writer never writes them. That includes a ZIP64 extra
//! field next to 32-bit sizes, even one agreeing with them: readers differ on
//! which of the two sizes they believe (SECURITY.md 32).
//!
//! This walk also keeps the central directory's names in their raw order,
//! repeats included, which the `zip` crate merges away.

use std::io::{Read, Seek, SeekFrom};

use crate::error::BundleError;
use crate::names::shown;

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const CENTRAL_FIXED_LEN: u64 = 46;
const LOCAL_FIXED_LEN: u64 = 30;
/// Where an end record may start: the last 22 bytes plus a 64 KiB comment.
const EOCD_SEARCH_LEN: u64 = EOCD_LEN + 0xFFFF;
/// General-purpose flag bit 3: sizes and CRC follow the data instead of
/// being in the local header.
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
/// A central directory bigger than this is not a bundle's: 10,000 entries
/// with names of a few hundred bytes and the usual extra fields fit in a
/// fraction of it. Bounding it lets the directory be read in one piece.
const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 16 * 1024 * 1024;
/// Info-ZIP Unicode Path extra field (APPNOTE 4.6.9).
const UNICODE_PATH_FIELD: u16 = 0x7075;
/// ZIP64 extended information extra field (APPNOTE 4.5.3).
const ZIP64_FIELD: u16 = 0x0001;

/// One central directory record, as far as the layout checks need it.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub name: Vec<u8>,
    /// The compression method number (0 stored, 8 deflate, ...).
    pub method: u16,
    pub compressed_size: u64,
    pub local_offset: u64,
}

/// The central directory of an archive whose bytes all belong somewhere.
#[derive(Debug)]
pub(crate) struct Layout {
    pub entries: Vec<RawEntry>,
    pub central_offset: u64,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_at<R: Read + Seek>(input: &mut R, offset: u64, buf: &mut [u8]) -> Result<(), BundleError> {
    input.seek(SeekFrom::Start(offset))?;
    input.read_exact(buf).map_err(|e| {
        BundleError::from_read(
            &format!("reading {} bytes at offset {offset}", buf.len()),
            e,
        )
    })
}

/// Reads and checks the end record and central directory, then the local
/// headers, and returns the entries in central directory order.
pub(crate) fn read_layout<R: Read + Seek>(
    input: &mut R,
    max_entries: usize,
) -> Result<Layout, BundleError> {
    let file_len = input.seek(SeekFrom::End(0))?;
    let (count, central_offset, central_size) = read_end_record(input, file_len)?;
    if count > max_entries {
        return Err(BundleError::invalid_zip(format!(
            "the archive has {count} entries, more than the limit of {max_entries}"
        )));
    }
    let central_end = file_len - EOCD_LEN;
    if central_offset.checked_add(central_size) != Some(central_end) {
        return Err(BundleError::invalid_zip(format!(
            "the central directory (offset {central_offset}, {central_size} bytes) does not end \
             where the end record begins (offset {central_end}): bytes before the archive or between \
             its parts"
        )));
    }
    let entries = read_central_directory(input, count, central_offset, central_end)?;
    check_tiling(input, &entries, central_offset)?;
    Ok(Layout {
        entries,
        central_offset,
    })
}

/// The end record must be the last 22 bytes: a record further up means an
/// archive comment or trailing bytes.
fn read_end_record<R: Read + Seek>(
    input: &mut R,
    file_len: u64,
) -> Result<(usize, u64, u64), BundleError> {
    if file_len < EOCD_LEN {
        return Err(BundleError::invalid_zip(format!(
            "not a ZIP archive: {file_len} bytes is too short for an end-of-central-directory record"
        )));
    }
    let mut record = [0u8; EOCD_LEN as usize];
    read_at(input, file_len - EOCD_LEN, &mut record)?;
    if u32_at(&record, 0) != EOCD_SIGNATURE {
        let tail_len = file_len.min(EOCD_SEARCH_LEN);
        let mut tail = vec![0u8; tail_len as usize];
        read_at(input, file_len - tail_len, &mut tail)?;
        let signature = EOCD_SIGNATURE.to_le_bytes();
        return Err(BundleError::invalid_zip(
            // A signature too close to the end to start a whole record is
            // no record at all (found by fuzzing: the subtraction below
            // would underflow).
            match tail
                .windows(4)
                .rposition(|w| w == signature)
                .and_then(|at| tail_len.checked_sub(at as u64 + EOCD_LEN))
            {
                Some(extra) => format!(
                    "{extra} bytes follow the end-of-central-directory record (an archive comment or trailing data)"
                ),
                None => "not a ZIP archive: no end-of-central-directory record".to_owned(),
            },
        ));
    }
    let disk = u16_at(&record, 4);
    let central_disk = u16_at(&record, 6);
    let on_disk = u16_at(&record, 8);
    let total = u16_at(&record, 10);
    let central_size = u32_at(&record, 12);
    let central_offset = u32_at(&record, 16);
    let comment_len = u16_at(&record, 20);
    if comment_len != 0 {
        return Err(BundleError::invalid_zip(format!(
            "the end record declares a {comment_len}-byte archive comment; bundles have none"
        )));
    }
    if total == u16::MAX || central_size == u32::MAX || central_offset == u32::MAX {
        return Err(BundleError::invalid_zip(
            "ZIP64 archives are not accepted: a bundle never needs them",
        ));
    }
    if disk != 0 || central_disk != 0 || on_disk != total {
        return Err(BundleError::invalid_zip(format!(
            "multi-disk archives are not accepted (disk {disk}, central directory on disk \
             {central_disk}, {on_disk} of {total} entries on this disk)"
        )));
    }
    Ok((
        usize::from(total),
        u64::from(central_offset),
        u64::from(central_size),
    ))
}

/// Reads the whole central directory at once (it is small: a bundle's
/// names are short) and walks its records.
fn read_central_directory<R: Read + Seek>(
    input: &mut R,
    count: usize,
    central_offset: u64,
    central_end: u64,
) -> Result<Vec<RawEntry>, BundleError> {
    let central_size = central_end - central_offset;
    if central_size > MAX_CENTRAL_DIRECTORY_BYTES {
        return Err(BundleError::invalid_zip(format!(
            "the central directory is {central_size} bytes, more than the {MAX_CENTRAL_DIRECTORY_BYTES} a bundle can need"
        )));
    }
    let mut directory = vec![0u8; central_size as usize];
    read_at(input, central_offset, &mut directory)?;

    let mut entries = Vec::with_capacity(count);
    let mut rest = directory.as_slice();
    for index in 0..count {
        let at = central_end - rest.len() as u64;
        if rest.len() < CENTRAL_FIXED_LEN as usize {
            return Err(BundleError::invalid_zip(format!(
                "the central directory ends after {index} of its {count} entries"
            )));
        }
        if u32_at(rest, 0) != CENTRAL_SIGNATURE {
            return Err(BundleError::invalid_zip(format!(
                "central directory record {index} at offset {at} has no valid signature"
            )));
        }
        let flags = u16_at(rest, 8);
        let method = u16_at(rest, 10);
        let compressed_size = u32_at(rest, 20);
        let size = u32_at(rest, 24);
        let name_len = usize::from(u16_at(rest, 28));
        let extra_len = usize::from(u16_at(rest, 30));
        let comment_len = usize::from(u16_at(rest, 32));
        let disk_start = u16_at(rest, 34);
        let local_offset = u32_at(rest, 42);
        let fixed = CENTRAL_FIXED_LEN as usize;
        let record_len = fixed + name_len + extra_len + comment_len;
        if record_len > rest.len() {
            return Err(BundleError::invalid_zip(format!(
                "central directory record {index} runs past the end of the central directory"
            )));
        }
        let name = rest[fixed..fixed + name_len].to_vec();
        let entry = shown(&name);
        check_extra_fields(&rest[fixed + name_len..fixed + name_len + extra_len], "")
            .map_err(|what| BundleError::invalid_zip(format!("entry {entry} {what}")))?;
        if compressed_size == u32::MAX || size == u32::MAX || local_offset == u32::MAX {
            return Err(BundleError::invalid_zip(format!(
                "entry {entry} uses ZIP64 sizes; a bundle never needs them"
            )));
        }
        if disk_start != 0 {
            return Err(BundleError::invalid_zip(format!(
                "entry {entry} starts on disk {disk_start}; multi-disk archives are not accepted"
            )));
        }
        if flags & FLAG_DATA_DESCRIPTOR != 0 {
            return Err(BundleError::invalid_zip(format!(
                "entry {entry} keeps its sizes in a data descriptor; bundle entries must declare \
                 them in their headers"
            )));
        }
        entries.push(RawEntry {
            name,
            method,
            compressed_size: u64::from(compressed_size),
            local_offset: u64::from(local_offset),
        });
        rest = &rest[record_len..];
    }
    if !rest.is_empty() {
        return Err(BundleError::invalid_zip(format!(
            "{} unlisted bytes follow the last central directory record",
            rest.len()
        )));
    }
    Ok(entries)
}

/// Walks an extra-field area. Info-ZIP's Unicode Path field makes most
/// tools (the zip crate included) show another name than the header's, so
/// our name checks would judge a name nobody else uses: refuse it. The local
/// header's extra fields are walked the same way ([`check_tiling`]), so a
/// field hidden there alone is refused too. A ZIP64 field is refused
/// wherever it is. `place` says which header the field is in, for messages
/// (empty for the central one).
fn check_extra_fields(mut extra: &[u8], place: &str) -> Result<(), String> {
    while !extra.is_empty() {
        if extra.len() < 4 {
            return Err(format!("has a malformed extra field{place}"));
        }
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        if extra.len() < 4 + len {
            return Err(format!("has a malformed extra field{place}"));
        }
        if id == UNICODE_PATH_FIELD {
            return Err(format!(
                "has a Unicode Path extra field{place}, which renames it in most tools"
            ));
        }
        if id == ZIP64_FIELD {
            return Err(format!(
                "has a ZIP64 extra field{place}; a bundle never needs ZIP64"
            ));
        }
        extra = &extra[4 + len..];
    }
    Ok(())
}

/// Each entry is a local header, its name and extra field, then its data.
/// Sorted by offset, they must follow each other from byte 0 with no gap and
/// no overlap, and the last must end where the central directory begins.
fn check_tiling<R: Read + Seek>(
    input: &mut R,
    entries: &[RawEntry],
    central_offset: u64,
) -> Result<(), BundleError> {
    let mut order: Vec<&RawEntry> = entries.iter().collect();
    order.sort_by_key(|e| e.local_offset);
    let mut cursor = 0u64;
    let mut fixed = [0u8; LOCAL_FIXED_LEN as usize];
    for entry in order {
        let name = shown(&entry.name);
        if entry.local_offset < cursor {
            return Err(BundleError::invalid_zip(format!(
                "entry {name} at offset {} overlaps the entry before it, which ends at {cursor}",
                entry.local_offset
            )));
        }
        if entry.local_offset > cursor {
            return Err(BundleError::invalid_zip(format!(
                "{} unlisted bytes at offset {cursor}, before entry {name}",
                entry.local_offset - cursor
            )));
        }
        if entry.local_offset + LOCAL_FIXED_LEN > central_offset {
            return Err(BundleError::invalid_zip(format!(
                "the local header of entry {name} runs into the central directory"
            )));
        }
        read_at(input, entry.local_offset, &mut fixed)?;
        if u32_at(&fixed, 0) != LOCAL_SIGNATURE {
            return Err(BundleError::invalid_zip(format!(
                "entry {name} has no local header at offset {}",
                entry.local_offset
            )));
        }
        let name_len = u64::from(u16_at(&fixed, 26));
        let extra_len = u64::from(u16_at(&fixed, 28));
        if extra_len > 0 {
            let extra_at = entry.local_offset + LOCAL_FIXED_LEN + name_len;
            if extra_at + extra_len > central_offset {
                return Err(BundleError::invalid_zip(format!(
                    "the local header of entry {name} runs into the central directory"
                )));
            }
            let mut extra = vec![0u8; extra_len as usize];
            read_at(input, extra_at, &mut extra)?;
            check_extra_fields(&extra, " in its local header")
                .map_err(|what| BundleError::invalid_zip(format!("entry {name} {what}")))?;
        }
        cursor =
            entry.local_offset + LOCAL_FIXED_LEN + name_len + extra_len + entry.compressed_size;
        if cursor > central_offset {
            return Err(BundleError::invalid_zip(format!(
                "the data of entry {name} runs into the central directory"
            )));
        }
    }
    if cursor != central_offset {
        return Err(BundleError::invalid_zip(format!(
            "{} unlisted bytes at offset {cursor}, before the central directory",
            central_offset - cursor
        )));
    }
    Ok(())
}
