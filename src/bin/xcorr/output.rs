//! Output files: which kind a path asks for, checked before any work; `.npy` numbers and
//! PNG pictures (drawn by `plot` and `overlay`), written atomically (a temporary file in the destination directory, renamed
//! over the destination only once complete, so a failure never leaves a half-written file).
//! An output that is a symlink is written through: its target is replaced, the link kept.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use xcorr::io::io_message;
use xcorr::{Array, Element, Error, Result};

/// What kind of file an output path asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// `.npy`: the numbers.
    Npy,
    /// `.png`: a heatmap (2-D) or a line plot (1-D).
    Png,
    /// `.svg`: a line plot (1-D results only).
    Svg,
}

pub fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Check an output path before any work is done: the extension must be `.npy` or `.png`
/// (any case), the path must not be a directory, and its directory must exist.
pub fn check_output_path(path: impl AsRef<Path>) -> Result<OutputKind> {
    let path = path.as_ref();
    let kind = match xcorr::io::extension(path).as_deref() {
        Some("npy") => OutputKind::Npy,
        Some("png") => OutputKind::Png,
        Some("svg") => OutputKind::Svg,
        Some(other) => {
            return Err(file_error(
                path,
                format!("unknown output type '.{other}' (expected .npy, .png or .svg)"),
            ))
        }
        None => return Err(file_error(path, "output needs an extension, .npy or .png")),
    };
    if path.is_dir() {
        return Err(file_error(path, "is a directory, not a file"));
    }
    let dir = parent_dir(&resolve_links(path));
    if !dir.is_dir() {
        return Err(file_error(
            path,
            format!("directory '{}' does not exist", dir.display()),
        ));
    }
    Ok(kind)
}

/// The directory a path lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Follow symlinks to the file they name (which need not exist yet), so that the rename
/// replaces the target rather than the link. A loop stops after 40 steps, as the kernel
/// does, and the write then fails on its own.
fn resolve_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&p) {
                Ok(target) => p = parent_dir(&p).join(target),
                Err(_) => break,
            },
            _ => break,
        }
    }
    p
}

/// A file being written atomically: the bytes go to a temporary file in the destination's
/// directory, which [`commit`](Self::commit) renames over the destination. Dropped without
/// a commit (an error, a `--strict` stop), the temporary file is removed and the destination
/// is left as it was.
pub struct AtomicFile {
    path: PathBuf,
    target: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Start writing `path` (its directory must be writable: checked here, before any work).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let target = resolve_links(path);
        let dir = parent_dir(&target);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".xcorr-").suffix(".part");
        // NamedTempFile is owner-only by default; ask for 0666 so the umask decides, as for
        // any ordinary file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(&dir).map_err(|e| {
            file_error(
                path,
                format!(
                    "cannot create a file in '{}': {}",
                    dir.display(),
                    io_message(&e)
                ),
            )
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            target,
            writer: BufWriter::new(tmp),
        })
    }

    /// Where the bytes go until the commit.
    pub fn writer(&mut self) -> &mut BufWriter<tempfile::NamedTempFile> {
        &mut self.writer
    }

    /// The error for a failed write to this file.
    pub fn write_error(&self, e: &std::io::Error) -> Error {
        file_error(&self.path, format!("cannot write: {}", io_message(e)))
    }

    /// Flush and rename over the destination.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self
            .writer
            .into_inner()
            .map_err(|e| file_error(&path, format!("cannot write: {}", io_message(e.error()))))?;
        tmp.persist(&self.target)
            .map_err(|e| file_error(&path, format!("cannot write: {}", io_message(&e.error))))?;
        Ok(())
    }
}

/// Write `path` atomically ([`AtomicFile`]): `fill` writes the contents, and `path` is
/// replaced only when `fill` and the flush succeeded.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<tempfile::NamedTempFile>) -> Result<()>,
) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    fill(file.writer())?;
    file.commit()
}

/// Encode an RGB image as PNG into `path`, atomically (best compression: pictures are
/// written once and kept, e.g. in a repository).
pub fn write_rgb_png(path: &Path, image: &image::RgbImage) -> Result<()> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    write_atomic(path, |w| {
        use image::ImageEncoder;
        PngEncoder::new_with_quality(w, CompressionType::Best, FilterType::Adaptive)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| file_error(path, format!("cannot encode PNG ({e})")))
    })
}

/// Write a result as `.npy` in its own dtype (float64 stays float64), atomically.
pub fn write_npy<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, |w| {
        xcorr::io::write_npy(w, array)
            .map_err(|e| file_error(path, format!("cannot write: {}", io_message(&e))))
    })
}

/// Write equally shaped planes as one `.npy` array, channels last (`(..., C)`), atomically.
pub fn write_npy_planes<T: Element>(path: impl AsRef<Path>, planes: &[Array<T>]) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, |w| {
        xcorr::io::write_npy_planes(w, planes)
            .map_err(|e| file_error(path, format!("cannot write: {}", io_message(&e))))
    })
}

/// Write `array` to `path` as the extension asks: numbers for `.npy` ([`write_npy`]), a
/// picture for `.png` and `.svg` ([`crate::plot::write_result`], axes in indices).
pub fn write_output<T: Element>(path: impl AsRef<Path>, array: &Array<T>) -> Result<OutputKind> {
    let path = path.as_ref();
    let kind = check_output_path(path)?;
    match kind {
        OutputKind::Npy => write_npy(path, array)?,
        OutputKind::Png | OutputKind::Svg => {
            let best = crate::plot::best_index(array);
            crate::plot::write_result(
                path,
                array,
                &crate::plot::Axes::indices(),
                &[best],
                crate::plot::Colormap::Turbo,
                kind == OutputKind::Svg,
            )?
        }
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xcorr::io::{read_npy, AnyArray};

    fn file_message(err: Error, path: &Path) -> String {
        match err {
            Error::File { path: p, message } => {
                assert_eq!(p, path.display().to_string());
                message
            }
            other => panic!("expected Error::File, got {other:?}"),
        }
    }

    #[test]
    fn output_paths_are_checked_before_work() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            check_output_path(dir.path().join("a.npy")).unwrap(),
            OutputKind::Npy
        );
        assert_eq!(
            check_output_path(dir.path().join("a.PNG")).unwrap(),
            OutputKind::Png
        );
        assert_eq!(check_output_path("relative.npy").unwrap(), OutputKind::Npy);
        let p = dir.path().join("a.jpg");
        assert_eq!(
            file_message(check_output_path(&p).unwrap_err(), &p),
            "unknown output type '.jpg' (expected .npy, .png or .svg)"
        );
        let p = dir.path().join("a");
        assert!(file_message(check_output_path(&p).unwrap_err(), &p).contains("extension"));
        let p = dir.path().join("missing-dir/a.npy");
        assert!(file_message(check_output_path(&p).unwrap_err(), &p).contains("does not exist"));
        let p = dir.path().join("sub.npy");
        std::fs::create_dir(&p).unwrap();
        assert!(file_message(check_output_path(&p).unwrap_err(), &p).contains("directory"));
    }

    #[test]
    fn writes_replace_atomically_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.npy");
        std::fs::write(&p, b"old").unwrap();
        write_npy(&p, &Array::from_vec(vec![1.0f32, 2.0])).unwrap();
        assert_eq!(
            read_npy(&p).unwrap(),
            AnyArray::F32(Array::from_vec(vec![1.0, 2.0]))
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.npy")]);

        // A failed write (no such directory) creates nothing.
        let bad = dir.path().join("missing/out.npy");
        assert!(write_npy(&bad, &Array::from_vec(vec![1.0f32])).is_err());
        assert!(!bad.exists());
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_ordinary_permissions() {
        // NamedTempFile alone would leave 0600; results should look like any file the user
        // creates (0666 less the umask).
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let p = dir.path().join("perm.npy");
        write_npy(&p, &Array::from_vec(vec![1.0f32])).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/target.npy");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.npy");
        std::os::unix::fs::symlink("real/target.npy", &link).unwrap();
        write_npy(&link, &Array::from_vec(vec![3.0f64])).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            read_npy(&target).unwrap(),
            AnyArray::F64(Array::from_vec(vec![3.0]))
        );
        // A dangling link gets its target created.
        let dangling = dir.path().join("dangling.npy");
        std::os::unix::fs::symlink("real/new.npy", &dangling).unwrap();
        write_npy(&dangling, &Array::from_vec(vec![4.0f32])).unwrap();
        assert!(dir.path().join("real/new.npy").is_file());
    }
}
