//! The `MediaReader` adapter: the bytes of an image a rule names, from the images shipped with
//! the deployment (built into the `reply` binary), a folder (`kefu dev`) or an https URL,
//! within WeChat's size limit.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{MediaError, MediaReader, PortError};
use crate::rules::MediaSource;

/// Images larger than this are refused before upload (WeChat's limit for images is 10 MB).
const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Images built into a binary: `(name, bytes)` sorted by name, a name being the path under the
/// assets folder with `/` between folders (`functions/reply/build.rs` writes the table).
pub type ShippedAssets = &'static [(&'static str, &'static [u8])];

/// Where `{"file": …}` images are read from.
#[derive(Debug, Clone)]
pub enum Images {
    /// A folder on disk, read at each use (`kefu dev`, tests).
    Folder(PathBuf),
    /// The images built into the binary: what the deployed `reply` function has, since a
    /// deployment package holds only the bootstrap.
    Shipped(ShippedAssets),
}

/// Reads images shipped with the deployment (or from a folder) and from https URLs.
#[derive(Debug, Clone)]
pub struct AssetReader {
    images: Images,
    http: reqwest::Client,
}

impl AssetReader {
    /// Reads `{"file": …}` images from the folder `assets`.
    pub fn new(assets: impl Into<PathBuf>, timeout: Duration) -> Result<Self, PortError> {
        Self::with_images(Images::Folder(assets.into()), timeout)
    }

    pub fn with_images(images: Images, timeout: Duration) -> Result<Self, PortError> {
        let http = crate::tls::http_client_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| PortError::new("media http client", e))?;
        Ok(Self { images, http })
    }

    async fn file(&self, name: &str) -> Result<(String, Vec<u8>), MediaError> {
        // Only plain relative paths inside the assets.
        let relative = Path::new(name);
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| match c {
                Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        let Some(parts) = parts.filter(|parts| !parts.is_empty()) else {
            return Err(MediaError::Unusable(format!(
                "{name}: not a path inside the assets"
            )));
        };
        let file_name = parts.last().map_or("image.jpg", |f| f).to_owned();
        let bytes = match &self.images {
            Images::Folder(folder) => {
                tokio::fs::read(folder.join(relative))
                    .await
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => {
                            MediaError::Unusable(format!("{name}: {e}"))
                        }
                        _ => PortError::new("read image", format!("{name}: {e}")).into(),
                    })?
            }
            Images::Shipped(shipped) => {
                let key = parts.join("/");
                shipped
                    .binary_search_by(|(shipped, _)| (*shipped).cmp(key.as_str()))
                    .ok()
                    .and_then(|at| shipped.get(at))
                    .map(|(_, bytes)| bytes.to_vec())
                    .ok_or_else(|| not_shipped(name, shipped))?
            }
        };
        checked(file_name, bytes)
    }
}

/// The error for a `{"file": …}` image the deployment does not have, naming what it has.
fn not_shipped(name: &str, shipped: ShippedAssets) -> MediaError {
    let names: Vec<&str> = shipped.iter().map(|(name, _)| *name).collect();
    let have = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    MediaError::Unusable(format!(
        "{name}: not shipped with this deployment (images built in: {have}); put it in \
         functions/reply/assets/ and deploy again (sam build && sam deploy)"
    ))
}

#[async_trait]
impl MediaReader for AssetReader {
    async fn read(&self, source: &MediaSource) -> Result<(String, Vec<u8>), MediaError> {
        match source {
            MediaSource::File(name) => self.file(name).await,
            // Sent as it is (`render::image_of` asks for no upload): nothing to read.
            MediaSource::MediaId(_) => Err(MediaError::Unusable(
                "a media_id is sent as it is, not read".into(),
            )),
            MediaSource::Url(url) => {
                let response = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| match e.status() {
                        // The image's server says there is none: a retry cannot help.
                        Some(status) if status.is_client_error() => {
                            MediaError::Unusable(format!("{url}: HTTP {}", status.as_u16()))
                        }
                        _ => PortError::new("download image", e.without_url()).into(),
                    })?;
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

fn checked(file_name: String, bytes: Vec<u8>) -> Result<(String, Vec<u8>), MediaError> {
    if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
        return Err(MediaError::Unusable(format!(
            "{file_name}: {} bytes (must be 1 to {MAX_IMAGE_BYTES})",
            bytes.len()
        )));
    }
    Ok((file_name, bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    static SHIPPED: ShippedAssets = &[("icons/help.png", b"help"), ("welcome.png", b"hello")];

    fn shipped() -> AssetReader {
        AssetReader::with_images(Images::Shipped(SHIPPED), Duration::from_secs(1)).unwrap()
    }

    fn file(name: &str) -> MediaSource {
        MediaSource::File(name.to_owned())
    }

    #[tokio::test]
    async fn a_shipped_image_is_read_from_the_binary() {
        let reader = shipped();
        assert_eq!(
            reader.read(&file("welcome.png")).await.unwrap(),
            ("welcome.png".to_owned(), b"hello".to_vec())
        );
        assert_eq!(
            reader.read(&file("icons/help.png")).await.unwrap(),
            ("help.png".to_owned(), b"help".to_vec())
        );
    }

    #[tokio::test]
    async fn an_image_not_shipped_is_refused_naming_the_shipped_ones() {
        let err = shipped().read(&file("promo.png")).await.unwrap_err();
        let MediaError::Unusable(message) = err else {
            panic!("not shipped is for good, got {err:?}");
        };
        assert!(
            message.starts_with(
                "promo.png: not shipped with this deployment \
                 (images built in: icons/help.png, welcome.png)"
            ),
            "{message}"
        );
        assert!(message.contains("functions/reply/assets/"));
    }

    #[tokio::test]
    async fn paths_leaving_the_assets_are_refused() {
        for name in ["../secrets.json", "/etc/passwd", "icons/../welcome.png", ""] {
            let err = shipped().read(&file(name)).await.unwrap_err();
            assert!(
                matches!(&err, MediaError::Unusable(m) if m.contains("not a path inside the assets")),
                "{name}: {err}"
            );
        }
    }
}
