//! Input files for imports: a local file or folder, or an S3 object or prefix, read whole
//! and gunzipped when compressed.

use std::io::Read;
use std::sync::Arc;

use futures::TryStreamExt;
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

    /// A file's bytes, gunzipped when it is gzip (by its magic number, whatever its name).
    pub async fn read(&self, file: &Path) -> Result<Vec<u8>, ExtractError> {
        let name = self.display_name(file);
        let bytes = self
            .store
            .get(file)
            .await
            .map_err(|e| input_error(&name, e.to_string()))?
            .bytes()
            .await
            .map_err(|e| input_error(&name, e.to_string()))?;
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_ref())
                .read_to_end(&mut out)
                .map_err(|e| input_error(&name, format!("not valid gzip: {e}")))?;
            return Ok(out);
        }
        Ok(bytes.to_vec())
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
        let texts = [
            inputs.read(&inputs.files()[0]).await.expect("read"),
            inputs.read(&inputs.files()[1]).await.expect("read"),
        ];
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
