//! Sessions: the `session_id` cookie and the record behind it.
//!
//! A visitor whose cookie is missing, malformed, or names a session that has
//! expired gets a new session (a UUID v4) and a new cookie. Records live in Redis
//! under `session:<id>` with the session's TTL when `REDIS_URL` is set (the value is
//! `{"createdAt": <ms>, "userData": {}}`, as the original stores it), else in an
//! in-process map with the same expiry, saved under the state directory when there
//! is one (`web/sessions.json`), so that sessions survive a restart there too.
//!
//! A store that fails (Redis down) never fails the page: the visitor keeps the id
//! the cookie names (or a new one), and the error is logged, as the original does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The cookie's name.
pub const COOKIE: &str = "session_id";

/// The session of the request, put in its extensions by [`ensure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(pub String);

/// Where session records live.
#[derive(Clone)]
pub struct SessionStore {
    backend: Backend,
    ttl: Duration,
}

#[derive(Clone)]
enum Backend {
    Redis(ConnectionManager),
    Memory(Arc<Mutex<MemoryStore>>),
}

/// The embedded store: session id to expiry (milliseconds since the Unix epoch),
/// swept of expired entries as it grows.
#[derive(Default)]
struct MemoryStore {
    expiries: HashMap<String, u64>,
    /// Sweep when the map grows past this; doubled from the live count after a sweep.
    sweep_at: usize,
    /// Changed since last saved to the state file.
    dirty: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl MemoryStore {
    fn insert(&mut self, id: String, expiry_ms: u64) {
        self.expiries.insert(id, expiry_ms);
        self.dirty = true;
        if self.expiries.len() > self.sweep_at {
            let now = now_ms();
            self.expiries.retain(|_, e| *e > now);
            self.sweep_at = (self.expiries.len() * 2).max(1024);
        }
    }

    fn is_live(&mut self, id: &str) -> bool {
        match self.expiries.get(id) {
            Some(e) if *e > now_ms() => true,
            Some(_) => {
                self.expiries.remove(id);
                self.dirty = true;
                false
            }
            None => false,
        }
    }
}

/// How often the embedded store writes its sessions to the state file, when changed.
const SAVE_EVERY: Duration = Duration::from_secs(5);

/// Reads the sessions saved in `file` (none when it is missing or unreadable).
fn load_sessions(file: &Path) -> HashMap<String, u64> {
    let Ok(bytes) = std::fs::read(file) else {
        return HashMap::new();
    };
    match serde_json::from_slice::<HashMap<String, u64>>(&bytes) {
        Ok(mut map) => {
            let now = now_ms();
            map.retain(|_, e| *e > now);
            map
        }
        Err(err) => {
            tracing::warn!(%err, file = %file.display(), "ignoring an unreadable sessions file");
            HashMap::new()
        }
    }
}

/// Writes the sessions to `file` through a temporary file and a rename.
fn save_sessions(file: &Path, sessions: &HashMap<String, u64>) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec(sessions).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, file)
}

/// Saves the store every [`SAVE_EVERY`] while it changes, until the store is dropped.
fn spawn_saver(store: &Arc<Mutex<MemoryStore>>, file: PathBuf) {
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SAVE_EVERY).await;
            let Some(store) = weak.upgrade() else { return };
            let snapshot = {
                let mut guard = lock(&store);
                if !guard.dirty {
                    continue;
                }
                guard.dirty = false;
                guard.expiries.clone()
            };
            drop(store);
            let file = file.clone();
            let saved = tokio::task::spawn_blocking(move || save_sessions(&file, &snapshot)).await;
            match saved {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(%err, "cannot save the sessions"),
                Err(err) => tracing::warn!(%err, "session saver failed"),
            }
        }
    });
}

#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(#[from] redis::RedisError);

impl SessionStore {
    /// The in-process store.
    pub fn memory(ttl: Duration) -> Self {
        Self {
            backend: Backend::Memory(Arc::default()),
            ttl,
        }
    }

    /// The in-process store, kept in `file` across restarts (loaded now, saved a few
    /// seconds after changes). Must be called within a Tokio runtime.
    pub fn embedded(ttl: Duration, file: PathBuf) -> Self {
        let store = Arc::new(Mutex::new(MemoryStore {
            expiries: load_sessions(&file),
            ..MemoryStore::default()
        }));
        spawn_saver(&store, file);
        Self {
            backend: Backend::Memory(store),
            ttl,
        }
    }

    /// A Redis store; connects on first use and reconnects as needed, so a Redis
    /// that is down at start is not fatal.
    pub fn redis(url: &str, ttl: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            backend: Backend::Redis(manager),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// True when the session exists and has not expired.
    pub async fn is_live(&self, id: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                let found: bool = conn.exists(redis_key(id)).await?;
                Ok(found)
            }
            Backend::Memory(store) => Ok(lock(store).is_live(id)),
        }
    }

    /// Stores a new session record for its TTL.
    pub async fn create(&self, id: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                let created = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let record = serde_json::json!({ "createdAt": created, "userData": {} });
                let ttl_ms = u64::try_from(self.ttl.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1);
                let () = conn
                    .pset_ex(redis_key(id), record.to_string(), ttl_ms)
                    .await?;
                Ok(())
            }
            Backend::Memory(store) => {
                let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
                lock(store).insert(id.to_owned(), now_ms().saturating_add(ttl));
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Redis(_) => "redis",
            Backend::Memory(_) => "memory",
        };
        f.debug_struct("SessionStore")
            .field("backend", &kind)
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn lock(store: &Mutex<MemoryStore>) -> std::sync::MutexGuard<'_, MemoryStore> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Redis key of a session.
pub fn redis_key(id: &str) -> String {
    format!("session:{id}")
}

/// What [`ensure`] needs: the store and whether cookies are always `Secure`.
#[derive(Debug, Clone)]
pub struct Sessions {
    pub store: SessionStore,
    pub cookie_secure: bool,
}

/// Middleware: finds or makes the request's session, puts a [`SessionId`] in the
/// request's extensions, and sets the cookie on the response when it is new.
pub async fn ensure(
    State(sessions): State<Sessions>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let secure = sessions.cookie_secure || forwarded_https(headers);
    let existing = cookie_session(headers);
    let live = match &existing {
        Some(id) => match sessions.store.is_live(id).await {
            Ok(live) => live,
            Err(err) => {
                // Keep the visitor's session rather than churn ids while the store is down.
                tracing::error!(%err, "cannot read the session; keeping the cookie's id");
                true
            }
        },
        None => false,
    };
    let (id, new) = match existing {
        Some(id) if live => (id, false),
        _ => {
            let id = uuid::Uuid::new_v4().to_string();
            if let Err(err) = sessions.store.create(&id).await {
                tracing::error!(%err, "cannot store the new session");
            }
            (id, true)
        }
    };
    request.extensions_mut().insert(SessionId(id.clone()));
    let mut response = next.run(request).await;
    if new {
        let cookie = set_cookie(&id, sessions.store.ttl(), secure);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The `Set-Cookie` value of a session.
pub fn set_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    let mut cookie = format!(
        "{COOKIE}={id}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
        ttl.as_secs().max(1)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The session id the request's cookies name, when it is a well-formed UUID.
fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .and_then(|value| uuid::Uuid::parse_str(value).ok())
        .map(|uuid| uuid.hyphenated().to_string())
}

/// True when a proxy says the visitor came over HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        let id = "0b6f3c1e-8a1d-4c57-9d43-3f0e6f1f6a21";
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; session_id={id}; b=2")).unwrap(),
        );
        assert_eq!(cookie_session(&headers).as_deref(), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("session_id=<script>"),
        );
        assert_eq!(cookie_session(&headers), None);
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie("x", Duration::from_secs(86400), false);
        assert_eq!(
            c,
            "session_id=x; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax"
        );
        assert!(set_cookie("x", Duration::from_secs(1), true).ends_with("; Secure"));
    }

    #[test]
    fn memory_sessions_expire() {
        let mut store = MemoryStore::default();
        store.insert("a".into(), now_ms() + 60_000);
        store.insert("b".into(), now_ms());
        assert!(store.is_live("a"));
        assert!(!store.is_live("b"));
        assert!(!store.is_live("c"));
    }
}
