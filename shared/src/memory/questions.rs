//! `QuestionLog` in memory: the kept questions by (app, time, asker), each until its TTL.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::clock::{EpochMillis, EpochSecs};
use crate::ports::{AskedQuestion, PortError, QuestionLog};

#[async_trait]
impl QuestionLog for MemoryTable {
    async fn keep(&self, question: &AskedQuestion, expires_at: EpochSecs) -> Result<(), PortError> {
        self.count();
        self.lock_questions().insert(
            (
                question.appid.clone(),
                question.at_ms,
                question.asker.clone(),
            ),
            (question.clone(), expires_at),
        );
        Ok(())
    }

    async fn asked(
        &self,
        appid: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<AskedQuestion>, PortError> {
        self.count();
        let mut found: Vec<AskedQuestion> = self
            .lock_questions()
            .values()
            .filter(|(q, expires_at)| {
                *expires_at > EpochMillis(now_ms).secs()
                    && appid.is_none_or(|a| a == q.appid)
                    && q.at_ms >= from_ms
                    && q.at_ms <= to_ms
            })
            .map(|(q, _)| q.clone())
            .collect();
        found.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.appid.cmp(&b.appid)));
        Ok(found)
    }
}
