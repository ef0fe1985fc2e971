//! What a snapshot file holds, read from the file itself (etcd's database is a bbolt file): the
//! hash, revision, key count and size that `etcdctl snapshot status` prints.
//!
//! ```no_run
//! let status = rsetcd::v3::snapshot::status("backup.db")?;
//! println!("{:x}, {}, {}, {}", status.hash, status.revision, status.total_keys, status.total_size);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The file is read page by page (never mapped nor read whole), read-only; a file that is not a
//! bbolt database, or whose pages point outside it, is an [`std::io::ErrorKind::InvalidData`]
//! error.

use std::fs::File;
use std::io::{Error, ErrorKind, Result};
use std::path::Path;

/// What `snapshot status` reports about a snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// CRC-32C (Castagnoli) of every bucket name, key and value, in bbolt's order.
    pub hash: u32,
    /// The newest revision in the key bucket.
    pub revision: i64,
    /// How many entries all buckets hold.
    pub total_keys: u64,
    /// The database size bbolt accounts for (its high-water page times the page size).
    pub total_size: u64,
}

const MAGIC: u32 = 0xED0C_DAED;
const PAGE_HEADER: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const BUCKET_LEAF: u32 = 0x01;
/// Deeper trees than this are a corrupt file (bbolt's trees are a handful of levels deep).
const MAX_DEPTH: usize = 64;

fn bad(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidData, what.into())
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    let s = b.get(at..at + 2).ok_or_else(|| bad("truncated page"))?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    let s = b.get(at..at + 4).ok_or_else(|| bad("truncated page"))?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    let s = b.get(at..at + 8).ok_or_else(|| bad("truncated page"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// CRC-32C, as Go's `crc32.MakeTable(crc32.Castagnoli)` computes it.
#[derive(Debug)]
struct Crc32c {
    table: [u32; 256],
    crc: u32,
}

impl Crc32c {
    fn new() -> Crc32c {
        let mut table = [0u32; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        Crc32c { table, crc: !0 }
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.crc = self.table[((self.crc ^ u32::from(*b)) & 0xff) as usize] ^ (self.crc >> 8);
        }
    }

    fn sum(&self) -> u32 {
        !self.crc
    }
}

fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What a walk calls for each entry: key, value, whether the value is a nested bucket.
type Visit<'a> = dyn FnMut(&[u8], &[u8], bool) -> Result<()> + 'a;

struct Db {
    file: File,
    page_size: usize,
    /// Pages in use (the high-water mark).
    pages: u64,
}

struct Meta {
    page_size: u32,
    root: u64,
    pgid: u64,
    txid: u64,
}

fn meta(buf: &[u8]) -> Option<Meta> {
    let m = buf.get(PAGE_HEADER..PAGE_HEADER + 64)?;
    let magic = u32_at(m, 0).ok()?;
    let version = u32_at(m, 4).ok()?;
    let checksum = u64_at(m, 56).ok()?;
    if magic != MAGIC || version != 2 || checksum != fnv64a(&m[..56]) {
        return None;
    }
    Some(Meta {
        page_size: u32_at(m, 8).ok()?,
        root: u64_at(m, 16).ok()?,
        pgid: u64_at(m, 40).ok()?,
        txid: u64_at(m, 48).ok()?,
    })
}

impl Db {
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(&mut buf, offset)?;
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset))?;
            f.read_exact(&mut buf)?;
        }
        Ok(buf)
    }

    /// Page `id` with its overflow pages.
    fn page(&self, id: u64) -> Result<Vec<u8>> {
        if id < 2 || id >= self.pages {
            return Err(bad(format!("page {id} is outside the database")));
        }
        let offset = id * self.page_size as u64;
        let head = self.read_at(offset, self.page_size)?;
        let overflow = u32_at(&head, 12)? as u64;
        if overflow == 0 {
            return Ok(head);
        }
        if id + overflow >= self.pages {
            return Err(bad(format!("page {id} overflows the database")));
        }
        self.read_at(offset, (overflow as usize + 1) * self.page_size)
    }

    /// Calls `each(key, value, is_bucket)` for every entry of the tree rooted in `page`, in order.
    fn walk(&self, page: &[u8], depth: usize, each: &mut Visit<'_>) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad("the page tree is too deep"));
        }
        let flags = u16_at(page, 8)?;
        let count = u16_at(page, 10)? as usize;
        for i in 0..count {
            let at = PAGE_HEADER + i * 16;
            match flags & (BRANCH | LEAF) {
                BRANCH => {
                    let child = u64_at(page, at + 8)?;
                    self.walk(&self.page(child)?, depth + 1, each)?;
                }
                LEAF => {
                    let elem_flags = u32_at(page, at)?;
                    let pos = u32_at(page, at + 4)? as usize;
                    let ksize = u32_at(page, at + 8)? as usize;
                    let vsize = u32_at(page, at + 12)? as usize;
                    let k = at + pos;
                    let key = page
                        .get(k..k + ksize)
                        .ok_or_else(|| bad("key outside its page"))?;
                    let value = page
                        .get(k + ksize..k + ksize + vsize)
                        .ok_or_else(|| bad("value outside its page"))?;
                    each(key, value, elem_flags & BUCKET_LEAF != 0)?;
                }
                _ => return Err(bad(format!("page of unexpected kind {flags:#x}"))),
            }
        }
        Ok(())
    }

    /// Walks the bucket whose header (16 bytes: root page, sequence; an inline page after a zero
    /// root) is `value`.
    fn walk_bucket(&self, value: &[u8], depth: usize, each: &mut Visit<'_>) -> Result<()> {
        let root = u64_at(value, 0)?;
        if root == 0 {
            let inline = value
                .get(16..)
                .ok_or_else(|| bad("truncated inline bucket"))?;
            return self.walk(inline, depth + 1, each);
        }
        self.walk(&self.page(root)?, depth + 1, each)
    }
}

/// Reads the status of the snapshot (or stopped member's database) at `path`, as
/// `etcdctl snapshot status` (etcdutl's) computes it.
pub fn status(path: impl AsRef<Path>) -> Result<Status> {
    let file = File::open(path.as_ref())?;
    let mut db = Db {
        file,
        page_size: 4096,
        pages: 2,
    };
    let first = db
        .read_at(0, 4096)
        .map_err(|_| bad("not a bbolt database (too short)"))?;
    let m0 = meta(&first);
    let page_size = m0.as_ref().map_or(4096, |m| m.page_size as usize);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(bad("not a bbolt database (bad page size)"));
    }
    let m1 = db
        .read_at(page_size as u64, page_size)
        .ok()
        .and_then(|b| meta(&b));
    let meta = match (m0, m1) {
        (Some(a), Some(b)) => {
            if a.txid >= b.txid {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(bad("not a bbolt database (no valid meta page)")),
    };
    db.page_size = page_size;
    db.pages = meta.pgid;
    let mut status = Status {
        total_size: meta.pgid * page_size as u64,
        ..Status::default()
    };
    let mut hash = Crc32c::new();
    let root = db.page(meta.root)?;
    let mut buckets = Vec::new();
    db.walk(&root, 0, &mut |name, value, is_bucket| {
        if !is_bucket {
            return Err(bad(format!(
                "cannot get hash of bucket {}",
                String::from_utf8_lossy(name)
            )));
        }
        buckets.push((name.to_vec(), value.to_vec()));
        Ok(())
    })?;
    for (name, header) in buckets {
        hash.write(&name);
        let is_key = name == b"key";
        db.walk_bucket(&header, 1, &mut |k, v, nested| {
            hash.write(k);
            if !nested {
                hash.write(v);
            }
            if is_key && k.len() >= 8 {
                let mut main = [0u8; 8];
                main.copy_from_slice(&k[..8]);
                status.revision = i64::from_be_bytes(main);
            }
            status.total_keys += 1;
            Ok(())
        })?;
    }
    status.hash = hash.sum();
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::{fnv64a, Crc32c};

    #[test]
    fn checksums_match_go() {
        let mut c = Crc32c::new();
        c.write(b"123456789");
        assert_eq!(c.sum(), 0xE306_9283);
        assert_eq!(fnv64a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let err = super::status(&path).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    }
}
