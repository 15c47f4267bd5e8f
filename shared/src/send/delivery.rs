//! One message out: its image uploaded (or its media_id reused), an access_token, the
//! custom/send call — started only with time to finish before the deadline — and one retry with
//! a fresh token if WeChat calls the token stale.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sha1::{Digest, Sha1};

use super::budget::SEND_CALL_ROOM;
use super::errcode::{ErrorClass, classify};
use super::outcome::SendFailure;
use super::render::{image_of, render};
use super::{MEDIA_REUSE, Sender};
use crate::clock::{EpochMillis, millis};
use crate::protocol::OpenId;
use crate::rules::{MediaSource, ReplyMessage};
use crate::wechat_types::{AccessToken, ApiError};

type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// The key an image's media_id is cached under: its content, whatever names it.
fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

impl Sender {
    /// Sends one reply message, uploading its image first if needed. The custom/send call
    /// starts only if it can finish before `deadline` (ms since the epoch).
    pub(super) async fn deliver(
        &self,
        openid: &OpenId,
        message: &ReplyMessage,
        deadline: i64,
    ) -> Result<(), SendFailure> {
        // The image and the token (a wait for another instance's refresh, an upload) finish
        // in time for the send call, or the message is handed back for SQS to retry: never a
        // function killed at its timeout with the send's claim and quota still taken.
        let (message, media_hash, token) = self
            .within_room(deadline, async {
                let (media_id, media_hash) = match image_of(message) {
                    Some(source) => {
                        let (media_id, hash) = self.media_id(openid, source).await?;
                        (Some(media_id), Some(hash))
                    }
                    None => (None, None),
                };
                let message = render(openid, message, media_id);
                let token = self.deps.tokens.get().await?;
                Ok((message, media_hash, token))
            })
            .await?;
        self.room_to_send(deadline)?;
        let result = match self.deps.api.send(&token, &message).await {
            Err(err) if classify(&err) == ErrorClass::StaleToken => {
                tracing::info!(reason = %err, "access_token stale; refreshing once");
                let fresh = self
                    .within_room(deadline, async {
                        Ok(self.deps.tokens.replace_stale(&token).await?)
                    })
                    .await?;
                self.room_to_send(deadline)?;
                self.deps.api.send(&fresh, &message).await
            }
            other => other,
        };
        if let (Err(err), Some(hash)) = (&result, &media_hash)
            && classify(err) == ErrorClass::StaleMedia
        {
            // Forget the media id so that the retry uploads the image again.
            self.deps
                .media
                .forget(&self.appid, hash)
                .await
                .map_err(SendFailure::Media)?;
        }
        result.map_err(SendFailure::Api)
    }

    /// Runs `work` (what must happen before a send call) if it finishes while a send call
    /// could still start; else fails with [`SendFailure::Deadline`].
    async fn within_room<T>(
        &self,
        deadline: i64,
        work: impl Future<Output = Result<T, SendFailure>>,
    ) -> Result<T, SendFailure> {
        let latest = deadline.saturating_sub(millis(SEND_CALL_ROOM));
        let room = latest.saturating_sub(self.deps.clock.now_millis());
        let room = Duration::from_millis(u64::try_from(room).map_err(|_| SendFailure::Deadline)?);
        tokio::time::timeout(room, work)
            .await
            .map_err(|_| SendFailure::Deadline)?
    }

    /// A custom/send call may start: it can finish before the deadline.
    fn room_to_send(&self, deadline: i64) -> Result<(), SendFailure> {
        let latest = deadline.saturating_sub(millis(SEND_CALL_ROOM));
        if self.deps.clock.now_millis() > latest {
            return Err(SendFailure::Deadline);
        }
        Ok(())
    }

    /// The media_id of an image: cached by content hash, else uploaded (after showing the user
    /// "typing…", since an upload takes a moment).
    async fn media_id(
        &self,
        openid: &OpenId,
        source: &MediaSource,
    ) -> Result<(String, String), SendFailure> {
        let (file_name, bytes) = self.deps.reader.read(source).await?;
        let hash = content_hash(&bytes);
        let now = self.deps.clock.now_millis();
        if let Some(media_id) = self
            .deps
            .media
            .get(&self.appid, &hash, EpochMillis(now))
            .await
            .map_err(SendFailure::Media)?
        {
            return Ok((media_id, hash));
        }
        let api = &self.deps.api;
        let typing = self
            .with_token(|token| Box::pin(async move { api.typing(&token, openid).await }))
            .await;
        if let Err(err) = typing {
            // Cosmetic: the reply matters, the indicator does not.
            tracing::info!(reason = %err, "typing indicator not shown");
        }
        let (file_name, bytes) = (&file_name, &bytes);
        let media_id = self
            .with_token(|token| {
                Box::pin(async move { api.upload_image(&token, file_name, bytes.clone()).await })
            })
            .await?;
        self.deps
            .media
            .put(
                &self.appid,
                &hash,
                &media_id,
                EpochMillis(now) + MEDIA_REUSE,
            )
            .await
            .map_err(SendFailure::Media)?;
        Ok((media_id, hash))
    }

    /// Calls WeChat (typing, upload: calls safe to repeat) with the current token; if WeChat
    /// calls it stale, replaces it (once) and retries once. A second stale answer is returned
    /// as is: no loop.
    async fn with_token<'a, T>(
        &self,
        call: impl Fn(AccessToken) -> Call<'a, T> + Send + Sync,
    ) -> Result<T, SendFailure> {
        let token = self.deps.tokens.get().await?;
        match call(token.clone()).await {
            Err(err) if classify(&err) == ErrorClass::StaleToken => {
                tracing::info!(reason = %err, "access_token stale; refreshing once");
                let fresh = self.deps.tokens.replace_stale(&token).await?;
                call(fresh).await.map_err(SendFailure::Upload)
            }
            other => other.map_err(SendFailure::Upload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_hash;

    #[test]
    fn the_cache_key_is_the_content() {
        assert_eq!(
            content_hash(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
