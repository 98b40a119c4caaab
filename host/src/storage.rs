//! Content hashes, atomic file writes and bounded file reads, shared by the
//! artifact cache, the records, the administration state, packages and the
//! plugin loader.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `contents` to a temporary file beside `path`, syncs it, and renames
/// it over `path`.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(contents)?;
    tmp.1.sync_all()?;
    restrict_permissions(&tmp.0, 0o600);
    fs::rename(&tmp.0, path)
}

/// Writes `contents` to a new file with a random name in `dir`, synced and
/// readable by its owner only, and returns its path: the caller renames or
/// links it into place.
///
/// # Errors
/// I/O errors.
pub fn write_new_file(dir: &Path, contents: &[u8]) -> std::io::Result<PathBuf> {
    let (path, mut file) = tempfile_in(dir)?;
    restrict_permissions(&path, 0o600);
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(path)
}

/// A new file with a random name in `dir`, created exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!(".tmp-{name}"));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

/// Sets `mode` on `path` where the platform has modes (best effort).
#[cfg(unix)]
pub fn restrict_permissions(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
}

/// Sets `mode` on `path` where the platform has modes (best effort).
#[cfg(not(unix))]
pub fn restrict_permissions(_path: &Path, _mode: u32) {}

/// Reads the regular file at `path`, at most `max` bytes.
///
/// Whatever a file's name says, only a regular file (a symbolic link is
/// followed to one) is read: a FIFO named `plugin.wasm` would hang the
/// reader until someone writes to it, `/dev/zero` behind a link would fill
/// memory. The size is checked before reading and the read itself is
/// bounded, so a file that grows meanwhile cannot get past the cap either.
///
/// # Errors
/// I/O errors; `InvalidInput` for a file that is not regular, or larger
/// than `max` (the message gives its size).
pub fn read_regular_file(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(invalid(
            "not a regular file (a device, a pipe or a directory is never read)".into(),
        ));
    }
    if metadata.len() > max as u64 {
        return Err(invalid(format!(
            "the file is {} bytes, more than the limit of {max}",
            metadata.len()
        )));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    fs::File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Err(invalid(format!(
            "the file grew past the limit of {max} bytes while it was read"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.wasm");
        fs::write(&file, b"12345").unwrap();
        assert_eq!(read_regular_file(&file, 5).unwrap(), b"12345");
        let over = read_regular_file(&file, 4).unwrap_err();
        assert!(over.to_string().contains("5 bytes"), "{over}");
        assert!(read_regular_file(dir.path(), 1 << 20).is_err());
        #[cfg(unix)]
        {
            let zero = dir.path().join("zero.wasm");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            let refused = read_regular_file(&zero, 1 << 20).unwrap_err();
            assert!(refused.to_string().contains("not a regular file"));
        }
    }
}
