//! `MediaCache` on DynamoDB: uploaded images' media_ids by content hash, until they expire.

use async_trait::async_trait;

use super::describe;
use super::table::{DynamoTable, n, number, s};
use crate::clock::EpochMillis;
use crate::ports::{MediaCache, PortError};

#[async_trait]
impl MediaCache for DynamoTable {
    async fn get(
        &self,
        appid: &str,
        hash: &str,
        now: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("media#{appid}#{hash}")))
            .key("sk", s("media"))
            .send()
            .await
            .map_err(|err| PortError::new("read media id", describe(&err)))?
            .item;
        Ok(item.and_then(|item| {
            let expires = EpochMillis(number(&item, "media_expires")?);
            (expires > now).then(|| item.get("media_id")?.as_s().ok().cloned())?
        }))
    }

    async fn put(
        &self,
        appid: &str,
        hash: &str,
        media_id: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("media#{appid}#{hash}")))
            .item("sk", s("media"))
            .item("media_id", s(media_id))
            .item("media_expires", n(expires_at.0))
            .item("expires_at", n(expires_at.secs().0))
            .send()
            .await
            .map_err(|err| PortError::new("store media id", describe(&err)))?;
        Ok(())
    }

    async fn forget(&self, appid: &str, hash: &str) -> Result<(), PortError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(format!("media#{appid}#{hash}")))
            .key("sk", s("media"))
            .send()
            .await
            .map_err(|err| PortError::new("forget media id", describe(&err)))?;
        Ok(())
    }
}
