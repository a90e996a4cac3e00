//! A file mapped read-only into memory, for loading: the loaders walk RDB and AOF files as byte
//! slices, and a mapping gives them one without reading the file into the heap first. Its pages
//! are the page cache's, read on demand and reclaimable, so loading a file as large as the
//! dataset does not need the dataset's size twice in private memory.
//!
//! The file must not shrink while mapped (reading a page past a truncated end raises SIGBUS);
//! the files loaded are the server's own, which nothing rewrites while they load.

use std::fs::File;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::path::Path;

#[derive(Debug)]
pub struct MappedFile {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone.
unsafe impl Send for MappedFile {}
unsafe impl Sync for MappedFile {}

impl MappedFile {
    pub fn open(path: &Path) -> std::io::Result<MappedFile> {
        let file = File::open(path)?;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::other("the file is larger than the address space"))?;
        if len == 0 {
            // A zero-length mapping is an error; an empty file is an empty slice.
            return Ok(MappedFile { ptr: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh private read-only mapping of an open descriptor; the result is
        // checked, and the mapping outlives the descriptor by design (closing it keeps the map).
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: advice on the range just mapped; failing it only loses read-ahead.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
        }
        Ok(MappedFile { ptr, len })
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` maps `len` readable bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: unmaps exactly the range mapped in `open`; no slice of it outlives `self`.
            unsafe {
                libc::munmap(self.ptr, self.len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_contents_and_empty_files() {
        let dir = std::env::temp_dir().join(format!("roost-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let full = dir.join("full");
        std::fs::write(&full, b"REDIS0010 and more").unwrap();
        assert_eq!(&*MappedFile::open(&full).unwrap(), b"REDIS0010 and more");
        let empty = dir.join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(MappedFile::open(&empty).unwrap().is_empty());
        assert_eq!(MappedFile::open(&dir.join("missing")).unwrap_err().kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
