//! Input files for imports: a local file or folder, or an S3 object or prefix, read as a
//! stream and gunzipped when compressed.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::ExtractError;

/// The files found at one location, in name order.
#[derive(Debug, Clone)]
pub struct InputFiles {
    location: String,
    store: Arc<dyn ObjectStore>,
    files: Vec<Path>,
}

fn input_error(location: &str, message: impl Into<String>) -> ExtractError {
    ExtractError::Input {
        file: location.to_owned(),
        message: message.into(),
    }
}

impl InputFiles {
    /// List a location: `s3://bucket/key-or-prefix`, or a local file or folder (walked
    /// recursively). Hidden files (a name starting with `.`) are skipped.
    pub async fn list(location: &str) -> Result<Self, ExtractError> {
        let (store, prefix): (Arc<dyn ObjectStore>, Path) =
            if let Some(rest) = location.strip_prefix("s3://") {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| input_error(location, e.to_string()))?;
                (Arc::new(store), Path::from(key.trim_end_matches('/')))
            } else {
                let local = std::path::Path::new(location);
                let absolute = std::fs::canonicalize(local)
                    .map_err(|e| input_error(location, format!("cannot open: {e}")))?;
                let store = LocalFileSystem::new();
                let prefix = Path::from_absolute_path(&absolute)
                    .map_err(|e| input_error(location, e.to_string()))?;
                (Arc::new(store), prefix)
            };

        // The location may name one object: take it alone when it exists.
        if !prefix.as_ref().is_empty()
            && let Ok(meta) = store.head(&prefix).await
        {
            return Ok(Self {
                location: location.to_owned(),
                store,
                files: vec![meta.location],
            });
        }
        let mut files: Vec<Path> = store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| input_error(location, e.to_string()))?;
        files.retain(|p| p.filename().is_some_and(|name| !name.starts_with('.')));
        files.sort();
        if files.is_empty() {
            return Err(input_error(location, "no files found"));
        }
        Ok(Self {
            location: location.to_owned(),
            store,
            files,
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn files(&self) -> &[Path] {
        &self.files
    }

    /// A file's name as users will see it in errors: the S3 URL or the local path.
    pub fn display_name(&self, file: &Path) -> String {
        if let Some(rest) = self.location.strip_prefix("s3://") {
            let bucket = rest.split('/').next().unwrap_or_default();
            format!("s3://{bucket}/{file}")
        } else {
            format!("/{file}")
        }
    }

    /// One of the listed files, to open (as often as needed).
    pub fn file(&self, file: &Path) -> InputFile {
        InputFile {
            name: self.display_name(file),
            origin: Origin::Store {
                store: self.store.clone(),
                path: file.clone(),
                s3: self.location.starts_with("s3://"),
            },
        }
    }
}

/// One input file, by the name users see, that can be opened for reading.
#[derive(Debug, Clone)]
pub struct InputFile {
    name: String,
    origin: Origin,
}

#[derive(Debug, Clone)]
enum Origin {
    Store {
        store: Arc<dyn ObjectStore>,
        path: Path,
        s3: bool,
    },
    Memory(Bytes),
}

impl InputFile {
    /// A file whose bytes are already in memory (tests, small documents).
    pub fn from_bytes(name: &str, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: name.to_owned(),
            origin: Origin::Memory(bytes.into()),
        }
    }

    /// The name to show in messages: the S3 URL or the local path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file as a reader of its bytes, gunzipped when it is gzip (by its magic number,
    /// whatever its name). Nothing is read ahead beyond a buffer: the reader is meant for
    /// a blocking thread (`spawn_blocking`), where it fetches an S3 object's body as it
    /// goes.
    pub async fn open(&self) -> Result<InputReader, ExtractError> {
        let raw: Box<dyn Read + Send> = match &self.origin {
            Origin::Store {
                store,
                path,
                s3: true,
            } => {
                let body = store
                    .get(path)
                    .await
                    .map_err(|e| input_error(&self.name, e.to_string()))?
                    .into_stream();
                Box::new(BodyReader {
                    body,
                    chunk: Bytes::new(),
                    runtime: tokio::runtime::Handle::current(),
                })
            }
            Origin::Store { path, .. } => {
                let local = std::path::PathBuf::from(format!("/{path}"));
                let opened = std::fs::File::open(&local)
                    .map_err(|e| input_error(&self.name, format!("cannot open: {e}")))?;
                Box::new(opened)
            }
            Origin::Memory(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
        };
        Ok(InputReader::new(raw))
    }
}

/// A readable input file, gunzipped when it is gzip. Nothing is read until the first
/// read, so a reader made on the async runtime can fetch on a blocking thread.
pub struct InputReader {
    raw: Option<Box<dyn Read + Send>>,
    ready: Box<dyn BufRead + Send>,
}

impl std::fmt::Debug for InputReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputReader")
    }
}

/// Read size from files and from a gzip stream: large enough that a syscall or an
/// inflate call is not paid per record.
const READ_BUFFER: usize = 1024 * 1024;

impl InputReader {
    pub fn new(raw: Box<dyn Read + Send>) -> Self {
        Self {
            raw: Some(raw),
            ready: Box::new(std::io::empty()),
        }
    }

    /// The bytes, gunzipped when they start with the gzip magic number (an unreadable
    /// start shows up at the first read).
    fn ready(&mut self) -> &mut (dyn BufRead + Send) {
        if let Some(raw) = self.raw.take() {
            let mut buffered = BufReader::with_capacity(READ_BUFFER, raw);
            let gzip = buffered
                .fill_buf()
                .is_ok_and(|start| start.starts_with(&[0x1f, 0x8b]));
            self.ready = if gzip {
                let inflated = flate2::read::MultiGzDecoder::new(buffered);
                Box::new(BufReader::with_capacity(READ_BUFFER, inflated))
            } else {
                Box::new(buffered)
            };
        }
        &mut *self.ready
    }
}

impl Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.ready().read(buf)
    }
}

impl BufRead for InputReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.ready().fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.ready().consume(amount);
    }
}

/// An object store body read from a blocking thread, one chunk at a time.
struct BodyReader {
    body: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    runtime: tokio::runtime::Handle,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.body.next()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(error)) => return Err(std::io::Error::other(error)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[tokio::test]
    async fn a_folder_lists_its_files_and_gzip_is_read_transparently() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("sub")).expect("sub");
        std::fs::write(dir.path().join("b.json"), b"{\"b\":1}").expect("write");
        std::fs::write(dir.path().join(".hidden"), b"x").expect("write");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"a\":1}").expect("gzip");
        std::fs::write(dir.path().join("sub/a.json.gz"), gz.finish().expect("gzip"))
            .expect("write");

        let inputs = InputFiles::list(dir.path().to_str().expect("utf-8"))
            .await
            .expect("listed");
        let names: Vec<&str> = inputs.files().iter().filter_map(|p| p.filename()).collect();
        assert_eq!(names, ["b.json", "a.json.gz"]);
        let mut texts = [Vec::new(), Vec::new()];
        for (file, text) in inputs.files().iter().zip(&mut texts) {
            let mut reader = inputs.file(file).open().await.expect("open");
            reader.read_to_end(text).expect("read");
        }
        assert_eq!(texts, [b"{\"b\":1}".to_vec(), b"{\"a\":1}".to_vec()]);

        let one = InputFiles::list(dir.path().join("b.json").to_str().expect("utf-8"))
            .await
            .expect("one file");
        assert_eq!(one.files().len(), 1);
    }

    #[tokio::test]
    async fn a_missing_location_is_an_error_naming_it() {
        let err = InputFiles::list("/nonexistent/lakewarden-input")
            .await
            .expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/lakewarden-input"),
            "{err}"
        );
    }
}
