//! A strict ZIP reader for packages (SPEC §8.5).
//!
//! Why not `zip::ZipArchive`: zip 9.x strips (does not refuse) absolute
//! paths, collapses duplicate names to the last entry and accepts data
//! prepended to the archive. A verifier must see the archive exactly as
//! every other unzip tool could, so this reader walks the structure itself
//! and refuses anything it does not account for:
//!
//! * the End Of Central Directory record (EOCD) is the last 22 bytes (no
//!   archive comment, no ZIP64, one disk);
//! * the central directory ends exactly where the EOCD starts;
//! * local file headers start at offset 0 and follow each other with no gap
//!   or overlap, the last one's data ending exactly where the central
//!   directory starts: every byte of the archive belongs to exactly one
//!   structure, so nothing can be prepended, appended or hidden;
//! * each local header repeats its central record exactly (version, flags,
//!   method, time, CRC, sizes, name) and has no extra field;
//! * flags: no encryption (bits 0, 6, 13), no data descriptor (bit 3);
//!   methods: stored (0) or deflate (8) only;
//! * names: ASCII, not escaping (absolute, `..`, `\`, `:`), allow-listed,
//!   unique;
//! * caps on the archive, the number of files, each file's size by kind and
//!   the compression ratio, checked on the declared sizes before inflating
//!   and enforced again while inflating (never more than the declared size
//!   is produced; the CRC-32 and the exact compressed length are checked at
//!   the end).
//!
//! Nothing is written to disk: files are streamed out of the archive.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use flate2::read::DeflateDecoder;
use sha2::{Digest, Sha256};

use super::name::FileName;
use crate::checkpoint::MAX_PROOF_BYTES;
use crate::hash::Hash32;
use crate::note::MAX_NOTE_BYTES;
use crate::report::Verdict;

/// Largest archive accepted: 4 GiB − 1 (no ZIP64).
pub const MAX_ARCHIVE_BYTES: u64 = u32::MAX as u64;
/// Most files in one archive.
pub const MAX_FILES: usize = 100_000;
/// Largest uncompressed `entries.jsonl`: 4 GiB − 1 (no ZIP64).
pub const MAX_FILE_BYTES: u64 = u32::MAX as u64;
/// Largest `manifest.json`: 64 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Largest other file (README, key, consistency proof, one-receipt JSONL): 1 MiB.
pub const MAX_SMALL_FILE_BYTES: u64 = 1 << 20;
/// Longest JSONL line (one entry) accepted, newline excluded: 1 MiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Largest ratio of uncompressed to compressed size for files over
/// [`RATIO_FLOOR_BYTES`]; JSONL of receipts compresses about 3–8×.
pub const MAX_RATIO: u64 = 100;
/// Files up to this uncompressed size are exempt from [`MAX_RATIO`] (their
/// absolute cap already bounds them).
pub const RATIO_FLOOR_BYTES: u64 = 1 << 20;
/// Largest sum of uncompressed sizes: 64 GiB.
pub const MAX_TOTAL_BYTES: u64 = 64 << 30;

const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const MAX_NAME_BYTES: usize = 512;
/// Flag bits allowed: 1–2 (deflate options) and 11 (UTF-8 names).
const ALLOWED_FLAGS: u16 = 0b0000_1000_0000_0110;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;

/// A structural defect of the archive: always a failed check, never an
/// operational error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Defect {
    pub verdict: Verdict,
    pub check: &'static str,
    pub file: Option<String>,
    pub detail: String,
}

fn defect(check: &'static str, file: Option<&str>, detail: impl Into<String>) -> Defect {
    Defect {
        verdict: Verdict::Malformed,
        check,
        file: file.map(str::to_owned),
        detail: detail.into(),
    }
}

/// One file of the archive, as its central record and local header agree.
#[derive(Clone, Debug)]
pub(crate) struct ZipFile {
    pub name: String,
    pub parsed: FileName,
    method: u16,
    crc: u32,
    csize: u64,
    pub size: u64,
    data_offset: u64,
}

/// A structurally valid archive.
pub(crate) struct Archive<R> {
    /// The input; lent to one [`FileReader`] at a time.
    r: Option<R>,
    pub files: Vec<ZipFile>,
}

struct Fields<'a>(&'a [u8]);
impl Fields<'_> {
    fn u16(&self, at: usize) -> u16 {
        match self.0.get(at..at + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        }
    }
    fn u32(&self, at: usize) -> u32 {
        match self.0.get(at..at + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }
}

fn cap_for(name: &FileName) -> u64 {
    match name {
        FileName::Entries(..) => MAX_FILE_BYTES,
        FileName::Manifest => MAX_MANIFEST_BYTES,
        FileName::Checkpoint(..) | FileName::ManifestSig => MAX_NOTE_BYTES as u64,
        FileName::ReceiptProof(..) => MAX_PROOF_BYTES as u64,
        _ => MAX_SMALL_FILE_BYTES,
    }
}

impl<R: Read + Seek> Archive<R> {
    /// Reads and checks the structure. The outer `Err` is an I/O failure
    /// (the checks could not run); the inner one a defect of the archive.
    pub fn open(mut r: R) -> io::Result<Result<Archive<R>, Defect>> {
        let len = r.seek(SeekFrom::End(0))?;
        if len > MAX_ARCHIVE_BYTES {
            return Ok(Err(defect(
                "archive_size",
                None,
                format!("archive is {len} bytes, more than the cap of {MAX_ARCHIVE_BYTES}"),
            )));
        }
        if len < EOCD_LEN {
            return Ok(Err(defect(
                "eocd",
                None,
                "archive is too short to be a ZIP (truncated?)",
            )));
        }
        let eocd_at = len - EOCD_LEN;
        let mut eocd = [0u8; EOCD_LEN as usize];
        r.seek(SeekFrom::Start(eocd_at))?;
        r.read_exact(&mut eocd)?;
        let f = Fields(&eocd);
        if f.u32(0) != EOCD_SIG {
            return Ok(Err(defect(
                "eocd",
                None,
                "no end-of-central-directory record in the last 22 bytes: the archive is truncated, has trailing data or a comment",
            )));
        }
        let (disk, cd_disk, n_disk, n_total) = (f.u16(4), f.u16(6), f.u16(8), f.u16(10));
        let (cd_size, cd_offset, comment) = (u64::from(f.u32(12)), u64::from(f.u32(16)), f.u16(20));
        if disk != 0 || cd_disk != 0 || n_disk != n_total || comment != 0 {
            return Ok(Err(defect(
                "eocd",
                None,
                "multi-disk archive, ZIP64 marker or archive comment",
            )));
        }
        if usize::from(n_total) > MAX_FILES {
            return Ok(Err(defect(
                "file_count",
                None,
                format!("{n_total} files, more than the cap of {MAX_FILES}"),
            )));
        }
        if cd_offset.checked_add(cd_size) != Some(eocd_at) {
            return Ok(Err(defect(
                "layout",
                None,
                "the central directory does not end where the end record starts (data hidden or archive cut)",
            )));
        }
        let mut cd = vec![0u8; usize::try_from(cd_size).unwrap_or(usize::MAX).min(64 << 20)];
        if cd.len() as u64 != cd_size {
            return Ok(Err(defect("layout", None, "central directory too large")));
        }
        r.seek(SeekFrom::Start(cd_offset))?;
        r.read_exact(&mut cd)?;

        let mut files: Vec<ZipFile> = Vec::with_capacity(usize::from(n_total));
        let mut raw_headers: Vec<Vec<u8>> = Vec::with_capacity(usize::from(n_total));
        let mut seen = HashSet::new();
        let mut total = 0u64;
        let mut pos = 0usize;
        for _ in 0..n_total {
            let Some(rec) = cd.get(pos..pos + CENTRAL_LEN) else {
                return Ok(Err(defect("central_directory", None, "record cut short")));
            };
            let f = Fields(rec);
            if f.u32(0) != CENTRAL_SIG {
                return Ok(Err(defect(
                    "central_directory",
                    None,
                    "bad record signature",
                )));
            }
            let (name_len, extra_len, comment_len) = (usize::from(f.u16(28)), f.u16(30), f.u16(32));
            let Some(name_bytes) = cd.get(pos + CENTRAL_LEN..pos + CENTRAL_LEN + name_len) else {
                return Ok(Err(defect("central_directory", None, "name cut short")));
            };
            let name = match std::str::from_utf8(name_bytes) {
                Ok(s) if s.is_ascii() && name_len <= MAX_NAME_BYTES => s.to_owned(),
                _ => return Ok(Err(defect("name", None, "a file name is not short ASCII"))),
            };
            let file = Some(name.as_str());
            if FileName::is_escaping(&name) {
                return Ok(Err(defect(
                    "path",
                    file,
                    "file name is absolute or escapes the package (zip-slip)",
                )));
            }
            let Some(parsed) = FileName::parse(&name) else {
                return Ok(Err(defect(
                    "name",
                    file,
                    "file name is not on the package allow-list",
                )));
            };
            if !seen.insert(name.clone()) {
                return Ok(Err(defect(
                    "duplicate_name",
                    file,
                    "file name appears twice",
                )));
            }
            let (flags, method) = (f.u16(8), f.u16(10));
            if flags & 0x0001 != 0 || flags & 0x0040 != 0 || flags & 0x2000 != 0 {
                return Ok(Err(defect("encrypted", file, "file is encrypted")));
            }
            if flags & !ALLOWED_FLAGS != 0 {
                return Ok(Err(defect(
                    "flags",
                    file,
                    format!("general-purpose flags {flags:#06x} not allowed (data descriptor or unknown)"),
                )));
            }
            if method != METHOD_STORED && method != METHOD_DEFLATE {
                return Ok(Err(defect(
                    "method",
                    file,
                    format!("compression method {method} not allowed (only stored and deflate)"),
                )));
            }
            if f.u16(6) > 20 {
                return Ok(Err(defect(
                    "version",
                    file,
                    "needs a ZIP version above 2.0 (ZIP64 or newer features)",
                )));
            }
            if extra_len != 0 || comment_len != 0 || f.u16(34) != 0 {
                return Ok(Err(defect(
                    "central_directory",
                    file,
                    "extra field, file comment or disk number not allowed",
                )));
            }
            // Unix file types other than regular files (symlinks, devices,
            // directories) could make an unzip tool write outside its
            // target; the other attribute fields are informational.
            let unix_type = (f.u32(38) >> 16) & 0o170_000;
            if f.u16(4) >> 8 == 3 && unix_type != 0 && unix_type != 0o100_000 {
                return Ok(Err(defect(
                    "file_type",
                    file,
                    "entry is not a regular file (symlink, directory or device)",
                )));
            }
            let (crc, csize, size) = (f.u32(16), u64::from(f.u32(20)), u64::from(f.u32(24)));
            let cap = cap_for(&parsed);
            if size > cap {
                return Ok(Err(defect(
                    "file_size",
                    file,
                    format!("uncompressed size {size} is over the cap of {cap} for this file"),
                )));
            }
            if size > RATIO_FLOOR_BYTES && size > csize.saturating_mul(MAX_RATIO) {
                return Ok(Err(defect(
                    "compression_ratio",
                    file,
                    format!("expands {size} bytes from {csize}: ratio over {MAX_RATIO} (zip bomb)"),
                )));
            }
            if method == METHOD_STORED && csize != size {
                return Ok(Err(defect("file_size", file, "stored file with two sizes")));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Ok(Err(defect(
                    "total_size",
                    None,
                    format!("files expand to more than {MAX_TOTAL_BYTES} bytes"),
                )));
            }
            // The fields a local header must repeat: version needed, flags,
            // method, time, date, CRC, sizes, name length.
            raw_headers.push(rec[6..30].to_vec());
            files.push(ZipFile {
                name,
                parsed,
                method,
                crc,
                csize,
                size,
                data_offset: u64::from(f.u32(42)),
            });
            pos += CENTRAL_LEN + name_len;
        }
        if pos as u64 != cd_size {
            return Ok(Err(defect(
                "central_directory",
                None,
                "the central directory holds more bytes than its records",
            )));
        }

        // Local headers: contiguous from offset 0 to the central directory.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| files.get(i).map_or(0, |f| f.data_offset));
        let mut expected = 0u64;
        for i in order {
            let (Some(zf), Some(central)) = (files.get_mut(i), raw_headers.get(i)) else {
                continue;
            };
            let file = Some(zf.name.as_str());
            let at = zf.data_offset;
            if at != expected {
                return Ok(Err(defect(
                    "layout",
                    file,
                    if expected == 0 {
                        format!("the first local header is at offset {at}, not 0: data is prepended to the archive")
                    } else {
                        format!("local header at offset {at}, expected {expected}: bytes are hidden between files or files overlap")
                    },
                )));
            }
            let header_end = at + (LOCAL_LEN + zf.name.len()) as u64;
            if header_end + zf.csize > cd_offset {
                return Ok(Err(defect(
                    "layout",
                    file,
                    "file data runs into the central directory",
                )));
            }
            let mut local = vec![0u8; LOCAL_LEN + zf.name.len()];
            r.seek(SeekFrom::Start(at))?;
            r.read_exact(&mut local)?;
            let lf = Fields(&local);
            if lf.u32(0) != LOCAL_SIG
                || local.get(4..28) != central.get(0..24)
                || lf.u16(28) != 0
                || local.get(LOCAL_LEN..) != Some(zf.name.as_bytes())
            {
                return Ok(Err(defect(
                    "local_header",
                    file,
                    "local header does not repeat its central directory record exactly (or has an extra field)",
                )));
            }
            zf.data_offset = header_end;
            expected = header_end + zf.csize;
        }
        if expected != cd_offset {
            return Ok(Err(defect(
                "layout",
                None,
                "bytes between the last file and the central directory are not accounted for",
            )));
        }
        Ok(Ok(Archive { r: Some(r), files }))
    }

    /// Streams the uncompressed bytes of `files[index]`, checking size and
    /// CRC-32 as it goes. Errors of kind `InvalidData` are defects of the
    /// file; others are I/O failures.
    ///
    /// The archive's input is lent to the reader: give it back with
    /// [`Archive::restore`] after [`FileReader::finish`].
    pub fn open_file(&mut self, index: usize) -> io::Result<FileReader<R>> {
        let zf = self
            .files
            .get(index)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        let mut r = self
            .r
            .take()
            .ok_or_else(|| io::Error::other("a file of the archive is already open"))?;
        if let Err(e) = r.seek(SeekFrom::Start(zf.data_offset)) {
            self.r = Some(r);
            return Err(e);
        }
        let raw = r.take(zf.csize);
        let inner = if zf.method == METHOD_DEFLATE {
            Inner::Deflate(DeflateDecoder::new(raw))
        } else {
            Inner::Stored(raw)
        };
        Ok(FileReader {
            inner,
            zf,
            produced: 0,
            crc: crc32fast::Hasher::new(),
            sha: Sha256::new(),
            done: false,
        })
    }
}

enum Inner<R> {
    Stored(io::Take<R>),
    Deflate(DeflateDecoder<io::Take<R>>),
}

/// The bytes of one file, verified against the archive's claims as they
/// are read; also hashes them (SHA-256) for the manifest check.
pub(crate) struct FileReader<R> {
    inner: Inner<R>,
    zf: ZipFile,
    produced: u64,
    crc: crc32fast::Hasher,
    sha: Sha256,
    done: bool,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<R> Archive<R> {
    /// Takes back the input lent to a [`FileReader`].
    pub fn restore(&mut self, r: R) {
        self.r = Some(r);
    }
}

impl<R: Read> FileReader<R> {
    /// SHA-256 and size of everything read, and the archive's input to
    /// [`Archive::restore`].
    pub fn finish(self) -> (Hash32, u64, R) {
        let r = match self.inner {
            Inner::Stored(t) => t.into_inner(),
            Inner::Deflate(d) => d.into_inner().into_inner(),
        };
        (Hash32(self.sha.finalize().into()), self.produced, r)
    }
}

impl<R: Read> Read for FileReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        // Never produce more than the declared size (+1 to detect excess).
        let room = (self.zf.size - self.produced + 1).min(buf.len() as u64) as usize;
        let Some(buf) = buf.get_mut(..room) else {
            return Ok(0);
        };
        let n = match &mut self.inner {
            Inner::Stored(r) => r.read(buf)?,
            Inner::Deflate(d) => d
                .read(buf)
                .map_err(|e| invalid(format!("deflate stream is corrupt: {e}")))?,
        };
        self.produced += n as u64;
        if self.produced > self.zf.size {
            return Err(invalid(format!(
                "expands past its declared size of {} bytes",
                self.zf.size
            )));
        }
        let data = buf.get(..n).unwrap_or_default();
        self.crc.update(data);
        self.sha.update(data);
        if n == 0 {
            self.done = true;
            if self.produced != self.zf.size {
                return Err(invalid(format!(
                    "holds {} bytes, its header says {}",
                    self.produced, self.zf.size
                )));
            }
            if self.crc.clone().finalize() != self.zf.crc {
                return Err(invalid("CRC-32 does not match".into()));
            }
            if let Inner::Deflate(d) = &self.inner {
                if d.total_in() != self.zf.csize {
                    return Err(invalid(
                        "compressed data has bytes after the end of the deflate stream".into(),
                    ));
                }
            }
        }
        Ok(n)
    }
}
