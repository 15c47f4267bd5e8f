//! The apps a deployment serves: one mini program at `/wechat` (a single-app deployment), and
//! any number at `/wechat/{appid}`, each with its own secrets and rules.
//!
//! [`Apps`] holds, per appid, what serves it — a [`Receiver`](crate::receive::Receiver) in the
//! push path, a [`Sender`](crate::send::Sender) in the send core — built on first use by an
//! [`AppSource`] (from Parameter Store as deployed) or given up front (`kefu dev --apps`, tests).
//! A built app is kept for a while (`ttl`) and then looked up again, so an app added or removed
//! in Parameter Store is served, or no longer served, without a redeploy. A failed lookup keeps
//! the app as it was (a Parameter Store hiccup must not take an app offline).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::millis;
use crate::ports::{Clock, PortError};

/// Appids not served are remembered (so a flood of unknown ones is not a flood of Parameter
/// Store reads) up to this many; then the memory of them starts again.
const MAX_UNKNOWN: usize = 1024;

/// Builds what serves one app, from where the deployment keeps its apps.
#[async_trait]
pub trait AppSource<T>: Send + Sync + fmt::Debug {
    /// What serves `appid`, or none if the deployment does not serve it.
    async fn build(&self, appid: &str) -> Result<Option<T>, PortError>;
}

/// Whether `text` can be an appid: what WeChat issues (`wx` and 16 letters or digits) and, for
/// tests and samples, any 1–32 ASCII letters, digits and `_`. Anything else is never looked up
/// (it is not a parameter name either).
pub fn is_appid(text: &str) -> bool {
    (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The apps, each served by a `T`.
pub struct Apps<T> {
    /// The app at `/wechat` (and at `/wechat/{its appid}`): a single-app deployment's.
    default: Option<(String, Arc<T>)>,
    /// Apps given up front.
    fixed: HashMap<String, Arc<T>>,
    /// Where other apps are found, if anywhere.
    source: Option<Arc<dyn AppSource<T>>>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    found: Mutex<HashMap<String, Found<T>>>,
}

enum Found<T> {
    Served { app: Arc<T>, look_again_at: i64 },
    NotServed { look_again_at: i64 },
}

impl<T> fmt::Debug for Apps<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Apps")
            .field("default", &self.default.as_ref().map(|(appid, _)| appid))
            .field("fixed", &self.fixed.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Apps<T> {
    /// No app yet; add them with the `with_*` methods.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            default: None,
            fixed: HashMap::new(),
            source: None,
            clock,
            ttl: Duration::from_secs(300),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// One app, at `/wechat` and at `/wechat/{appid}`.
    pub fn single(appid: &str, app: Arc<T>, clock: Arc<dyn Clock>) -> Self {
        Self::new(clock).with_default(appid, app)
    }

    /// Serves `app` at `/wechat` too.
    pub fn with_default(mut self, appid: &str, app: Arc<T>) -> Self {
        self.fixed.insert(appid.to_owned(), app.clone());
        self.default = Some((appid.to_owned(), app));
        self
    }

    /// Serves `app` at `/wechat/{appid}`.
    pub fn with_app(mut self, appid: &str, app: Arc<T>) -> Self {
        self.fixed.insert(appid.to_owned(), app);
        self
    }

    /// Finds apps not given up front in `source`, looking each up again after `ttl`.
    pub fn with_source(mut self, source: Arc<dyn AppSource<T>>, ttl: Duration) -> Self {
        self.source = Some(source);
        self.ttl = ttl;
        self
    }

    /// The appid served at `/wechat`, if any.
    pub fn default_appid(&self) -> Option<&str> {
        self.default.as_ref().map(|(appid, _)| appid.as_str())
    }

    /// The apps given up front, in appid order.
    pub fn fixed(&self) -> Vec<(&str, &Arc<T>)> {
        let mut apps: Vec<_> = self.fixed.iter().map(|(k, v)| (k.as_str(), v)).collect();
        apps.sort_by_key(|(appid, _)| *appid);
        apps
    }

    /// What serves `appid` (`None`: the app at `/wechat`), or none if it is not served. Fails
    /// only when the source fails and the app was never found before.
    pub async fn get(&self, appid: Option<&str>) -> Result<Option<Arc<T>>, PortError> {
        let Some(appid) = appid else {
            return Ok(self.default.as_ref().map(|(_, app)| app.clone()));
        };
        if let Some(app) = self.fixed.get(appid) {
            return Ok(Some(app.clone()));
        }
        let Some(source) = &self.source else {
            return Ok(None);
        };
        if !is_appid(appid) {
            return Ok(None);
        }
        let now = self.clock.now_millis();
        let known = {
            let found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            match found.get(appid) {
                Some(Found::Served { app, look_again_at }) => {
                    if now < *look_again_at {
                        return Ok(Some(app.clone()));
                    }
                    Some(app.clone())
                }
                Some(Found::NotServed { look_again_at }) if now < *look_again_at => {
                    return Ok(None);
                }
                _ => None,
            }
        };
        // Built outside the lock: one app's slow lookup does not hold up the others. Two
        // concurrent first pushes may both build; the later one is kept.
        let look_again_at = now.saturating_add(millis(self.ttl));
        let app = match source.build(appid).await {
            Ok(Some(app)) => Some(Arc::new(app)),
            Ok(None) => {
                if known.is_some() {
                    tracing::info!(appid, "app removed: no longer served");
                }
                None
            }
            Err(err) => match known {
                Some(app) => {
                    tracing::warn!(appid, reason = %err, "app lookup failed; keeping it as it was");
                    Some(app)
                }
                None => return Err(err),
            },
        };
        let found = match &app {
            Some(app) => Found::Served {
                app: app.clone(),
                look_again_at,
            },
            None => Found::NotServed { look_again_at },
        };
        self.remember(appid, found);
        Ok(app)
    }

    fn remember(&self, appid: &str, what: Found<T>) {
        let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(what, Found::NotServed { .. })
            && found
                .values()
                .filter(|f| matches!(f, Found::NotServed { .. }))
                .count()
                >= MAX_UNKNOWN
        {
            found.retain(|_, f| matches!(f, Found::Served { .. }));
        }
        found.insert(appid.to_owned(), what);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::ManualClock;

    /// Apps named in a list that tests change; counts lookups; fails on demand.
    #[derive(Debug, Default)]
    struct Listed {
        apps: Mutex<Vec<String>>,
        failing: std::sync::atomic::AtomicBool,
        lookups: AtomicUsize,
    }

    #[async_trait]
    impl AppSource<String> for Listed {
        async fn build(&self, appid: &str) -> Result<Option<String>, PortError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(PortError::new("read app", "unavailable"));
            }
            let apps = self.apps.lock().unwrap();
            Ok(apps
                .iter()
                .any(|a| a == appid)
                .then(|| format!("served {appid}")))
        }
    }

    fn apps(source: &Arc<Listed>, clock: &Arc<ManualClock>) -> Apps<String> {
        Apps::new(clock.clone())
            .with_default("wxdefault", Arc::new("default".to_owned()))
            .with_source(source.clone(), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn the_default_app_answers_both_paths_and_others_come_from_the_source() {
        let source = Arc::new(Listed::default());
        source.apps.lock().unwrap().push("wxA".into());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert_eq!(*apps.get(None).await.unwrap().unwrap(), "default");
        assert_eq!(
            *apps.get(Some("wxdefault")).await.unwrap().unwrap(),
            "default"
        );
        assert_eq!(*apps.get(Some("wxA")).await.unwrap().unwrap(), "served wxA");
        assert!(apps.get(Some("wxB")).await.unwrap().is_none());
        // Served from memory until the ttl runs out, found or not.
        apps.get(Some("wxA")).await.unwrap();
        apps.get(Some("wxB")).await.unwrap();
        assert_eq!(source.lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn added_and_removed_apps_take_effect_after_the_ttl() {
        let source = Arc::new(Listed::default());
        source.apps.lock().unwrap().push("wxA".into());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some("wxA")).await.unwrap().is_some());
        assert!(apps.get(Some("wxB")).await.unwrap().is_none());
        *source.apps.lock().unwrap() = vec!["wxB".into()];
        assert!(
            apps.get(Some("wxA")).await.unwrap().is_some(),
            "until the ttl"
        );
        clock.advance(61_000);
        assert!(apps.get(Some("wxA")).await.unwrap().is_none(), "removed");
        assert!(apps.get(Some("wxB")).await.unwrap().is_some(), "added");
    }

    #[tokio::test]
    async fn a_failed_lookup_keeps_a_known_app_and_fails_an_unknown_one() {
        let source = Arc::new(Listed::default());
        source.apps.lock().unwrap().push("wxA".into());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some("wxA")).await.unwrap().is_some());
        source.failing.store(true, Ordering::SeqCst);
        clock.advance(61_000);
        assert!(apps.get(Some("wxA")).await.unwrap().is_some());
        assert!(apps.get(Some("wxC")).await.is_err());
    }

    #[tokio::test]
    async fn names_that_cannot_be_appids_are_never_looked_up() {
        let source = Arc::new(Listed::default());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        for bad in ["", "wx/../push", "wx a", &"w".repeat(33), "wx%2F"] {
            assert!(apps.get(Some(bad)).await.unwrap().is_none(), "{bad:?}");
        }
        assert_eq!(source.lookups.load(Ordering::SeqCst), 0);
        assert!(is_appid("wx5823bf96d3bd56c7"));
    }

    #[tokio::test]
    async fn unknown_appids_are_remembered_within_a_bound() {
        let source = Arc::new(Listed::default());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        for n in 0..(MAX_UNKNOWN + 10) {
            assert!(apps.get(Some(&format!("wx{n}"))).await.unwrap().is_none());
        }
        let remembered = apps.found.lock().unwrap().len();
        assert!(remembered <= MAX_UNKNOWN, "{remembered}");
    }

    #[tokio::test]
    async fn without_a_source_only_the_given_apps_are_served() {
        let clock = Arc::new(ManualClock::at(0));
        let apps: Apps<String> = Apps::new(clock).with_app("wxA", Arc::new("a".into()));
        assert!(apps.get(None).await.unwrap().is_none(), "no /wechat app");
        assert!(apps.get(Some("wxA")).await.unwrap().is_some());
        assert!(apps.get(Some("wxB")).await.unwrap().is_none());
    }
}
