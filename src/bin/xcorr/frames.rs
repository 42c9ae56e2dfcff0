//! The frames of a batch: which files the user's folders and patterns name, and decoding
//! them ahead of the engine.
//!
//! Patterns are expanded here rather than by the shell: a shell passes a pattern that matches
//! nothing through literally, and Windows shells never expand them.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::Instant;
use xcorr::{Error, Result};

/// The extensions a folder is searched for (images and .npy arrays).
const FRAME_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "npy"];

/// The files that `inputs` name, in order: a folder gives its image and .npy files (sorted
/// by name, numbers by value: `f9` before `f10`), a pattern (`*`, `?`, `[`) the files it
/// matches (sorted the same way), anything else itself. A folder without frames, a pattern
/// that matches nothing or a missing file is an error naming it.
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            let mut found = folder_frames(path)?;
            if found.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "folder '{input}' holds no frames (files ending in .{})",
                    FRAME_EXTENSIONS.join(", .")
                )));
            }
            sort_naturally(&mut found);
            files.extend(found);
        } else if input.contains(['*', '?', '[']) {
            let paths = glob::glob(input).map_err(|e| {
                Error::InvalidArgument(format!("pattern '{input}' is not valid: {}", e.msg))
            })?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "pattern '{input}' matches no files"
                )));
            }
            sort_naturally(&mut found);
            files.extend(found);
        } else if path.is_file() {
            files.push(path.to_path_buf());
        } else {
            return Err(Error::File {
                path: input.clone(),
                message: "no such file or folder".into(),
            });
        }
    }
    Ok(files)
}

fn folder_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
        path: dir.display().to_string(),
        message: format!("cannot list: {}", xcorr::io::io_message(&e)),
    })?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            xcorr::io::extension(p).is_some_and(|ext| FRAME_EXTENSIONS.contains(&ext.as_str()))
        })
        .collect())
}

/// Sort paths so that runs of digits compare by value (`frame9` before `frame10`), as a
/// person numbering frames without leading zeros expects.
fn sort_naturally(paths: &mut [PathBuf]) {
    paths.sort_by_cached_key(|p| natural_key(&p.to_string_lossy()));
}

/// Text split into alternating text and number parts; numbers compare by value (leading
/// zeros and length first, so `007` and `7` still differ).
fn natural_key(text: &str) -> Vec<(String, u128, usize)> {
    let mut key = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(digits);
        let end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (number, tail) = tail.split_at(end);
        key.push((
            word.to_string(),
            number.parse().unwrap_or(u128::MAX),
            number.len(),
        ));
        rest = tail;
    }
    key
}

/// One decoded frame: its index in the batch, its file, what decoding gave, and how long it
/// took (milliseconds).
pub struct Decoded<F> {
    pub index: usize,
    pub path: PathBuf,
    pub frame: Result<F>,
    pub decode_ms: f64,
}

/// Decode `paths` in order on a separate thread, `lookahead` frames at a time on `threads`
/// threads (at most `lookahead`; [`decoder_threads`] is the batch's choice), so the next
/// frames are ready while the engine works on the current one. The channel is
/// bounded by `lookahead`: decoding never runs far ahead of the engine, so memory stays at a
/// few frames whatever the batch's length.
///
/// The decoders have a rayon pool of their own: in the global pool a decode job queued ahead
/// of the CPU engine's FFT tasks delays them (measured: 3.8 ms per 512x512 frame instead of
/// 2.6 ms in-process), whereas separate threads are shared out by the OS scheduler. The pool
/// has one thread per four cores: a frame decodes in about a sixth of the engine's time, so
/// one decoder keeps two FFT threads fed, and a second would only take their cores.
pub fn decode_ahead<F: Send + 'static>(
    paths: Vec<PathBuf>,
    lookahead: usize,
    threads: usize,
    decode: impl Fn(&Path) -> Result<F> + Send + Sync + 'static,
) -> Result<Receiver<Decoded<F>>> {
    use rayon::prelude::*;
    let lookahead = lookahead.max(1);
    let (sender, receiver) = sync_channel(lookahead);
    let threads = threads.clamp(1, lookahead);
    let decoder = std::thread::Builder::new().name("xcorr-decode".into());
    let spawned = decoder.spawn(move || {
        let decode_one = |index: usize, path: PathBuf| {
            let start = Instant::now();
            let frame = decode(&path);
            Decoded {
                index,
                path,
                frame,
                decode_ms: start.elapsed().as_secs_f64() * 1e3,
            }
        };
        // The receiver hanging up (a --strict failure) stops the decoding.
        let decode_all = || {
            if threads == 1 {
                // Each frame sent as soon as it is ready.
                for (index, path) in paths.into_iter().enumerate() {
                    if sender.send(decode_one(index, path)).is_err() {
                        return;
                    }
                }
                return;
            }
            let indexed: Vec<(usize, PathBuf)> = paths.into_iter().enumerate().collect();
            for chunk in indexed.chunks(lookahead) {
                let decoded: Vec<Decoded<F>> = chunk
                    .par_iter()
                    .map(|(index, path)| decode_one(*index, path.clone()))
                    .collect();
                for d in decoded {
                    if sender.send(d).is_err() {
                        return;
                    }
                }
            }
        };
        // The whole loop runs in the decoders' pool, so that their own parallel work (the
        // finiteness check of a large frame) stays off the engine's threads too; entered
        // once, not per chunk, since each entry is a hand-over between threads.
        match rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("xcorr-decode-{i}"))
            .build()
        {
            Ok(pool) => pool.install(decode_all),
            // Without a pool of its own (threads refused), decode on this thread.
            Err(_) => decode_all(),
        }
    });
    spawned.map_err(|e| {
        Error::InvalidArgument(format!("cannot start the thread that decodes frames: {e}"))
    })?;
    Ok(receiver)
}

/// Threads decoding frames: a quarter of the cores, at least one.
pub fn decoder_threads() -> usize {
    (rayon::current_num_threads() / 4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value() {
        let mut paths: Vec<PathBuf> = ["f10.png", "f9.png", "f1.png", "e2.png"]
            .iter()
            .map(PathBuf::from)
            .collect();
        sort_naturally(&mut paths);
        let names: Vec<_> = paths.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["e2.png", "f1.png", "f9.png", "f10.png"]);
    }

    #[test]
    fn folders_patterns_and_files_expand_or_fail_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b2.png", "b10.png", "a.npy", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let d = dir.path().to_str().unwrap().to_string();
        let got = expand_inputs(std::slice::from_ref(&d)).unwrap();
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["a.npy", "b2.png", "b10.png"]);
        let got = expand_inputs(&[format!("{d}/b*.png")]).unwrap();
        assert_eq!(got.len(), 2);
        let e = expand_inputs(&[format!("{d}/z*.png")]).unwrap_err();
        assert!(e.to_string().contains("matches no files"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = expand_inputs(&[empty.path().to_str().unwrap().into()]).unwrap_err();
        assert!(e.to_string().contains("holds no frames"), "{e}");
        let e = expand_inputs(&[format!("{d}/missing.png")]).unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
    }

    #[test]
    fn decoding_keeps_the_order_and_reports_failures() {
        // One decoder sends each frame as it is ready; several decode a chunk in parallel.
        for threads in [1, 3] {
            let paths: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("{i}"))).collect();
            let got: Vec<_> = decode_ahead(paths, 3, threads, |p| {
                let n: usize = p.to_str().unwrap().parse().unwrap();
                if n == 4 {
                    Err(Error::InvalidArgument("bad".into()))
                } else {
                    Ok(n * 2)
                }
            })
            .unwrap()
            .iter()
            .map(|d| (d.index, d.frame.ok()))
            .collect();
            let expected: Vec<_> = (0..10).map(|i| (i, (i != 4).then_some(i * 2))).collect();
            assert_eq!(got, expected, "{threads} threads");
        }
    }

    #[test]
    fn decoding_stops_when_the_batch_hangs_up() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let decoded = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&decoded);
        let paths: Vec<PathBuf> = (0..1000).map(|i| PathBuf::from(format!("{i}"))).collect();
        let receiver = decode_ahead(paths, 2, 1, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(receiver.recv().unwrap().index, 0);
        drop(receiver);
        // The channel holds two frames and the decoder one more when it learns of the hang-up.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let n = decoded.load(Ordering::SeqCst);
        assert!(n <= 5, "{n} frames decoded after the batch stopped");
    }
}
