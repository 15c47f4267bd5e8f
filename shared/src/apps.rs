//! The apps a deployment serves: one mini program at `/wechat` (a single-app deployment), and
//! any number at `/wechat/{appid}`, each with its own secrets and rules.
//!
//! [`Apps`] holds, per appid, what serves it — a [`Receiver`](crate::receive::Receiver) in the
//! push path, a [`Sender`](crate::send::Sender) in the send core — built on first use by an
//! [`AppSource`] (from Parameter Store as deployed) or given up front (`kefu dev --apps`, tests).
//!
//! Which appids are served comes from one listing of the source (names only), taken again
//! after `ttl`: an appid not in it is answered "not served" without any read, so a flood of
//! random appids costs nothing beyond the listing. (An appid not listed takes the listing again
//! early, once it is [`RELIST_ON_MISS`] old, so that an app just added is served soon: at most
//! one listing per that while, whatever the number of appids.) One listing is in flight at a
//! time; callers that need it meanwhile wait for that one. A built app is kept for `ttl` too and then built
//! again, so an app added or removed in Parameter Store is served, or no longer served, without
//! a redeploy.
//!
//! A failed listing or build keeps the last good listing and app (a Parameter Store hiccup must
//! not take an app offline, nor replace it with a half-built one); each lookup is bounded in
//! time (`lookup_timeout`), after which the last good app is served, or the lookup fails.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::millis;
use crate::ports::{Clock, PortError};
use crate::protocol::AppId;

/// An appid not in a listing this old takes the listing again (an app just added).
pub const RELIST_ON_MISS: Duration = Duration::from_secs(30);

/// After a failed listing or build, wait this long before asking the source again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// How long one lookup (the listing and the build) may take by default: the `receive` function
/// has 3 s in all, and WeChat waits 5 s.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_millis(1500);

/// One app as the listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Whether this function has what it needs to serve it. An app listed but not ready is
    /// being added (e.g. its push secrets written, its AppSecret not yet): its lookup fails as a
    /// transient failure does (a job is retried), rather than answering "not served".
    pub ready: bool,
    /// Whether it has rules of its own (else the deployment's shared rules).
    pub own_rules: bool,
}

/// The apps a source serves, by appid.
pub type Listing = HashMap<String, Listed>;

/// Builds what serves one app, from where the deployment keeps its apps.
#[async_trait]
pub trait AppSource<T>: Send + Sync + fmt::Debug {
    /// The apps there are (one listing, names only: no secret is read).
    async fn list(&self) -> Result<Listing, PortError>;

    /// What serves `appid`, listed as `listed`, or none if it is no longer there. Fails if any
    /// part of it could not be read: never a half-built app.
    async fn build(&self, appid: &str, listed: Listed) -> Result<Option<T>, PortError>;
}

/// Whether `text` is an AppID ([`AppId`]: `wx` and 16 letters or digits). Anything else is
/// never looked up (it is not a parameter name either).
pub fn is_appid(text: &str) -> bool {
    AppId::parse(text).is_ok()
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
    lookup_timeout: Duration,
    /// The last good listing; held while one is taken, so there is one at a time.
    listing: tokio::sync::Mutex<ListingState>,
    found: Mutex<HashMap<String, Found<T>>>,
}

#[derive(Debug, Default)]
struct ListingState {
    current: Option<Arc<Listing>>,
    /// When to list again (after the ttl, or a short while after a failure), ms since the epoch.
    look_again_at: i64,
    /// When the source was last asked, ms since the epoch.
    asked_at: i64,
    /// Why the last listing failed, while there was never a good one.
    failure: Option<PortError>,
}

struct Found<T> {
    app: Arc<T>,
    listed: Listed,
    look_again_at: i64,
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
            lookup_timeout: LOOKUP_TIMEOUT,
            listing: tokio::sync::Mutex::new(ListingState::default()),
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

    /// Finds apps not given up front in `source`, listing them and building each again after
    /// `ttl`.
    pub fn with_source(mut self, source: Arc<dyn AppSource<T>>, ttl: Duration) -> Self {
        self.source = Some(source);
        self.ttl = ttl;
        self
    }

    /// Bounds each lookup to `timeout` (default [`LOOKUP_TIMEOUT`]).
    pub fn with_lookup_timeout(mut self, timeout: Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// The apps given up front, in appid order.
    pub fn fixed(&self) -> Vec<(&str, &Arc<T>)> {
        let mut apps: Vec<_> = self.fixed.iter().map(|(k, v)| (k.as_str(), v)).collect();
        apps.sort_by_key(|(appid, _)| *appid);
        apps
    }

    /// Takes the listing now (a cold start does, before the first invocation); a failure is
    /// only logged: the first lookup tries again.
    pub async fn list_now(&self) {
        let Some(source) = &self.source else {
            return;
        };
        let deadline = tokio::time::Instant::now() + self.lookup_timeout;
        if let Err(err) = self.listing(source.as_ref(), deadline, None).await {
            tracing::warn!(reason = %err, "apps not listed at start");
        }
    }

    /// What serves `appid` (`None`: the app at `/wechat`), or none if it is not served. Fails
    /// only when the source fails (or takes longer than the lookup timeout) and the app was
    /// never built before, or when the app is listed but not ready.
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
            let found = lock(&self.found);
            match found.get(appid) {
                Some(f) if now < f.look_again_at => return Ok(Some(f.app.clone())),
                Some(f) => Some((f.app.clone(), f.listed)),
                None => None,
            }
        };
        let deadline = tokio::time::Instant::now() + self.lookup_timeout;
        let mut listing = match self.listing(source.as_ref(), deadline, None).await {
            Ok(listing) => listing,
            Err(err) => return self.keep_or_fail(appid, known, err),
        };
        if !listing.contains_key(appid) {
            // Perhaps added since: an older listing is taken again (the same one comes back if
            // it is recent, or the source fails).
            let again = self.listing(source.as_ref(), deadline, Some(RELIST_ON_MISS));
            listing = again.await.unwrap_or(listing);
        }
        let Some(listed) = listing.get(appid).copied() else {
            if known.is_some() {
                tracing::info!(appid, "app removed: no longer served");
                lock(&self.found).remove(appid);
            }
            return Ok(None);
        };
        if !listed.ready {
            let err = PortError::new(
                "look up app",
                format!("{appid} is being added: not all of its parameters are there yet"),
            );
            return self.keep_or_fail(appid, known, err);
        }
        let built = tokio::time::timeout_at(deadline, source.build(appid, listed)).await;
        let built = match built {
            Ok(built) => built,
            Err(_) => Err(PortError::new(
                "look up app",
                format!(
                    "{appid}: no answer within {} ms",
                    self.lookup_timeout.as_millis()
                ),
            )),
        };
        match built {
            Ok(Some(app)) => {
                let app = Arc::new(app);
                let look_again_at = self.clock.now_millis().saturating_add(millis(self.ttl));
                self.remember(appid, app.clone(), listed, look_again_at);
                Ok(Some(app))
            }
            Ok(None) => {
                if known.is_some() {
                    tracing::info!(appid, "app removed: no longer served");
                }
                lock(&self.found).remove(appid);
                Ok(None)
            }
            Err(err) => self.keep_or_fail(appid, known, err),
        }
    }

    /// After a failed lookup: the app as it was (looked up again a little later), or the
    /// failure if it was never built.
    fn keep_or_fail(
        &self,
        appid: &str,
        known: Option<(Arc<T>, Listed)>,
        err: PortError,
    ) -> Result<Option<Arc<T>>, PortError> {
        let Some((app, listed)) = known else {
            return Err(err);
        };
        tracing::warn!(appid, reason = %err, "app lookup failed; keeping it as it was");
        let look_again_at = self
            .clock
            .now_millis()
            .saturating_add(millis(RETRY_AFTER_FAILURE));
        self.remember(appid, app.clone(), listed, look_again_at);
        Ok(Some(app))
    }

    fn remember(&self, appid: &str, app: Arc<T>, listed: Listed, look_again_at: i64) {
        lock(&self.found).insert(
            appid.to_owned(),
            Found {
                app,
                listed,
                look_again_at,
            },
        );
    }

    /// The current listing: the one in memory while fresh (and, with `older_than`, while the
    /// source was asked less than that ago), else a new one (one at a time: callers meanwhile
    /// wait for it), else the last good one if the new one fails.
    async fn listing(
        &self,
        source: &dyn AppSource<T>,
        deadline: tokio::time::Instant,
        older_than: Option<Duration>,
    ) -> Result<Arc<Listing>, PortError> {
        let timed_out = || {
            PortError::new(
                "list apps",
                format!("no answer within {} ms", self.lookup_timeout.as_millis()),
            )
        };
        let Ok(mut state) = tokio::time::timeout_at(deadline, self.listing.lock()).await else {
            // Another caller's listing is slow: the last good one, if any, will do.
            return match self.listing.try_lock() {
                Ok(state) => state.current.clone().ok_or_else(timed_out),
                Err(_) => Err(timed_out()),
            };
        };
        let now = self.clock.now_millis();
        let stale = older_than.is_some_and(|age| now.saturating_sub(state.asked_at) >= millis(age))
            && state.current.is_some();
        if now < state.look_again_at && !stale {
            if let Some(current) = &state.current {
                return Ok(current.clone());
            }
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
        }
        state.asked_at = now;
        let listed = match tokio::time::timeout_at(deadline, source.list()).await {
            Ok(listed) => listed,
            Err(_) => Err(timed_out()),
        };
        match listed {
            Ok(listing) => {
                let listing = Arc::new(listing);
                state.current = Some(listing.clone());
                state.failure = None;
                state.look_again_at = self.clock.now_millis().saturating_add(millis(self.ttl));
                Ok(listing)
            }
            Err(err) => {
                state.look_again_at = self
                    .clock
                    .now_millis()
                    .saturating_add(millis(RETRY_AFTER_FAILURE));
                match &state.current {
                    Some(current) => {
                        tracing::warn!(reason = %err, "apps listing failed; keeping the last one");
                        Ok(current.clone())
                    }
                    None => {
                        state.failure = Some(err.clone());
                        Err(err)
                    }
                }
            }
        }
    }
}

fn lock<V>(mutex: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::clock::ManualClock;

    /// AppIDs of WeChat's form (`wx` and 16 letters or digits): only those are looked up.
    const A: &str = "wxAAAAAAAAAAAAAAAA";
    const B: &str = "wxBBBBBBBBBBBBBBBB";
    const C: &str = "wxCCCCCCCCCCCCCCCC";
    const D: &str = "wxDDDDDDDDDDDDDDDD";

    /// Apps named in a list that tests change; counts listings and builds; fails on demand.
    #[derive(Debug, Default)]
    struct Source {
        apps: Mutex<Vec<(String, bool)>>,
        failing_list: AtomicBool,
        failing_build: AtomicBool,
        slow_list: AtomicBool,
        listings: AtomicUsize,
        builds: AtomicUsize,
    }

    impl Source {
        fn with(apps: &[&str]) -> Arc<Self> {
            let source = Self::default();
            *source.apps.lock().unwrap() = apps.iter().map(|a| ((*a).to_owned(), true)).collect();
            Arc::new(source)
        }
    }

    #[async_trait]
    impl AppSource<String> for Source {
        async fn list(&self) -> Result<Listing, PortError> {
            self.listings.fetch_add(1, Ordering::SeqCst);
            if self.slow_list.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            if self.failing_list.load(Ordering::SeqCst) {
                return Err(PortError::new("list apps", "throttled"));
            }
            let apps = self.apps.lock().unwrap();
            Ok(apps
                .iter()
                .map(|(appid, ready)| {
                    let listed = Listed {
                        ready: *ready,
                        own_rules: false,
                    };
                    (appid.clone(), listed)
                })
                .collect())
        }

        async fn build(&self, appid: &str, _listed: Listed) -> Result<Option<String>, PortError> {
            self.builds.fetch_add(1, Ordering::SeqCst);
            if self.failing_build.load(Ordering::SeqCst) {
                return Err(PortError::new("read rules", "unavailable"));
            }
            Ok(Some(format!("served {appid}")))
        }
    }

    fn apps(source: &Arc<Source>, clock: &Arc<ManualClock>) -> Apps<String> {
        Apps::new(clock.clone())
            .with_default("wxdefault", Arc::new("default".to_owned()))
            .with_source(source.clone(), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn the_default_app_answers_both_paths_and_others_come_from_the_source() {
        let source = Source::with(&[A]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert_eq!(*apps.get(None).await.unwrap().unwrap(), "default");
        assert_eq!(
            *apps.get(Some("wxdefault")).await.unwrap().unwrap(),
            "default"
        );
        assert_eq!(
            *apps.get(Some(A)).await.unwrap().unwrap(),
            format!("served {A}")
        );
        assert!(apps.get(Some(B)).await.unwrap().is_none());
        // Served from memory until the ttl runs out, found or not.
        apps.get(Some(A)).await.unwrap();
        apps.get(Some(B)).await.unwrap();
        assert_eq!(source.listings.load(Ordering::SeqCst), 1);
        assert_eq!(source.builds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn appids_not_listed_cost_no_build_and_one_listing_per_ttl() {
        let source = Source::with(&[A]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        for n in 0..5000 {
            assert!(
                apps.get(Some(&format!("wx{n:016}")))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(source.listings.load(Ordering::SeqCst), 1);
        assert_eq!(source.builds.load(Ordering::SeqCst), 0);
        clock.advance(61_000);
        assert!(
            apps.get(Some("wx0000000000000001"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(source.listings.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_app_just_added_is_served_before_the_ttl_at_one_listing_per_while() {
        let source = Source::with(&[A]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some(B)).await.unwrap().is_none());
        source.apps.lock().unwrap().push((B.into(), true));
        clock.advance(10_000);
        for n in 0..100 {
            assert!(
                apps.get(Some(&format!("wx{n:016}")))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert!(
            apps.get(Some(B)).await.unwrap().is_none(),
            "listed 10 s ago"
        );
        assert_eq!(source.listings.load(Ordering::SeqCst), 1);
        clock.advance(21_000);
        assert!(
            apps.get(Some(B)).await.unwrap().is_some(),
            "31 s: listed again"
        );
        for n in 0..100 {
            assert!(
                apps.get(Some(&format!("wx{n:016}")))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(source.listings.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_lookups_wait_for_one_listing() {
        let source = Source::with(&[A]);
        source.slow_list.store(true, Ordering::SeqCst);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = Arc::new(apps(&source, &clock));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..20 {
            let apps = apps.clone();
            tasks.spawn(async move { apps.get(Some(&format!("wx{n:016}"))).await.unwrap() });
        }
        while let Some(found) = tasks.join_next().await {
            assert!(found.unwrap().is_none());
        }
        assert_eq!(source.listings.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn added_and_removed_apps_take_effect_after_the_ttl() {
        let source = Source::with(&[A]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some(A)).await.unwrap().is_some());
        assert!(apps.get(Some(B)).await.unwrap().is_none());
        *source.apps.lock().unwrap() = vec![(B.into(), true)];
        assert!(apps.get(Some(A)).await.unwrap().is_some(), "until the ttl");
        clock.advance(61_000);
        assert!(apps.get(Some(A)).await.unwrap().is_none(), "removed");
        assert!(apps.get(Some(B)).await.unwrap().is_some(), "added");
    }

    #[tokio::test]
    async fn a_failed_lookup_keeps_a_known_app_and_fails_an_unknown_one() {
        let source = Source::with(&[A, C]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some(A)).await.unwrap().is_some());
        // The listing fails: the last one stands; the build fails: the last app stands.
        source.failing_list.store(true, Ordering::SeqCst);
        source.failing_build.store(true, Ordering::SeqCst);
        clock.advance(61_000);
        assert_eq!(
            *apps.get(Some(A)).await.unwrap().unwrap(),
            format!("served {A}")
        );
        assert!(apps.get(Some(C)).await.is_err(), "never built");
        assert!(apps.get(Some(D)).await.unwrap().is_none(), "not listed");
        // Only the listing recovers: a build failing still keeps the app.
        source.failing_list.store(false, Ordering::SeqCst);
        clock.advance(61_000);
        assert_eq!(
            *apps.get(Some(A)).await.unwrap().unwrap(),
            format!("served {A}")
        );
        // Asked again only after a short while, not at every use.
        let builds = source.builds.load(Ordering::SeqCst);
        apps.get(Some(A)).await.unwrap();
        assert_eq!(source.builds.load(Ordering::SeqCst), builds);
    }

    #[tokio::test]
    async fn a_failed_first_listing_fails_lookups_without_asking_at_every_use() {
        let source = Source::with(&[A]);
        source.failing_list.store(true, Ordering::SeqCst);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        for _ in 0..10 {
            assert!(apps.get(Some(A)).await.is_err());
        }
        assert_eq!(source.listings.load(Ordering::SeqCst), 1);
        source.failing_list.store(false, Ordering::SeqCst);
        clock.advance(6_000);
        assert!(apps.get(Some(A)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_app_listed_but_not_ready_is_a_failure_not_a_removal() {
        let source = Arc::new(Source::default());
        *source.apps.lock().unwrap() = vec![(A.into(), false)];
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        assert!(apps.get(Some(A)).await.is_err());
        assert_eq!(source.builds.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_slow_source_is_bounded_by_the_lookup_timeout() {
        let source = Source::with(&[A]);
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock).with_lookup_timeout(Duration::from_millis(50));
        assert!(apps.get(Some(A)).await.unwrap().is_some());
        source.slow_list.store(true, Ordering::SeqCst);
        clock.advance(61_000);
        let started = std::time::Instant::now();
        assert!(apps.get(Some(A)).await.unwrap().is_some(), "kept");
        // The failed listing is not asked again at once: the last one answers.
        assert!(apps.get(Some(B)).await.unwrap().is_none());
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn names_that_cannot_be_appids_are_never_looked_up() {
        let source = Arc::new(Source::default());
        let clock = Arc::new(ManualClock::at(1_000_000));
        let apps = apps(&source, &clock);
        for bad in [
            "",
            "wx/../push",
            "wx a",
            &"w".repeat(33),
            "wx%2F",
            "wx1",
            "app_1",
        ] {
            assert!(apps.get(Some(bad)).await.unwrap().is_none(), "{bad:?}");
        }
        assert_eq!(source.listings.load(Ordering::SeqCst), 0);
        assert!(is_appid("wx5823bf96d3bd56c7"));
    }

    #[tokio::test]
    async fn without_a_source_only_the_given_apps_are_served() {
        let clock = Arc::new(ManualClock::at(0));
        let apps: Apps<String> = Apps::new(clock).with_app(A, Arc::new("a".into()));
        assert!(apps.get(None).await.unwrap().is_none(), "no /wechat app");
        assert!(apps.get(Some(A)).await.unwrap().is_some());
        assert!(apps.get(Some(B)).await.unwrap().is_none());
    }
}
