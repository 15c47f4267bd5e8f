//! The `MediaReader` adapter: the bytes of an image a rule names, from the deployment's asset
//! folder (plain relative paths only) or an https URL, within WeChat's size limit.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{MediaReader, PortError};
use crate::rules::MediaSource;

/// Images larger than this are refused before upload (WeChat's limit for images is 10 MB).
const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Reads images from the deployment's asset folder or from https URLs.
#[derive(Debug, Clone)]
pub struct AssetReader {
    assets: PathBuf,
    http: reqwest::Client,
}

impl AssetReader {
    pub fn new(assets: impl Into<PathBuf>, timeout: Duration) -> Result<Self, PortError> {
        let http = crate::tls::http_client_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| PortError::new("media http client", e))?;
        Ok(Self {
            assets: assets.into(),
            http,
        })
    }
}

#[async_trait]
impl MediaReader for AssetReader {
    async fn read(&self, source: &MediaSource) -> Result<(String, Vec<u8>), PortError> {
        match source {
            MediaSource::File(name) => {
                // Only plain relative paths inside the asset folder.
                let relative = std::path::Path::new(name);
                if relative.is_absolute()
                    || relative
                        .components()
                        .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return Err(PortError::new(
                        "read image",
                        format!("{name}: not a path inside the assets"),
                    ));
                }
                let bytes = tokio::fs::read(self.assets.join(relative))
                    .await
                    .map_err(|e| PortError::new("read image", format!("{name}: {e}")))?;
                let file_name = relative
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "image.jpg".into());
                checked(file_name, bytes)
            }
            MediaSource::Url(url) => {
                let response = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| PortError::new("download image", e))?;
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| PortError::new("download image", e))?;
                let file_name = url
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty() && n.contains('.'))
                    .map(|n| n.split('?').next().unwrap_or(n).to_owned())
                    .unwrap_or_else(|| "image.jpg".into());
                checked(file_name, bytes.to_vec())
            }
        }
    }
}

fn checked(file_name: String, bytes: Vec<u8>) -> Result<(String, Vec<u8>), PortError> {
    if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
        return Err(PortError::new(
            "read image",
            format!(
                "{file_name}: {} bytes (must be 1 to {MAX_IMAGE_BYTES})",
                bytes.len()
            ),
        ));
    }
    Ok((file_name, bytes))
}
