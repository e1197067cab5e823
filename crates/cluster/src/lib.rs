//! Cluster coordination of `[cron:x]` jobs through one Redis server: which node runs a
//! fire, which node holds a job's run lease, and the fence token each run gets.
//!
//! Data flow: the engine computes a job's fire instants on every node; for each instant
//! it asks a [`Coordinator`] to [`claim`](Coordinator::claim) it. The claim key is
//! `steward:{namespace}:cron:{job}:{unix seconds of the instant}`, so nodes agree
//! whatever their install paths, time zones or clock offsets. One Lua script does, in a
//! single round trip:
//!
//! 1. `SET claim owner NX PX claim_ttl` — the first node wins the instant. The claim is
//!    never deleted: it expires, so a node that comes late (clock behind, slow wake-up)
//!    finds it taken instead of running the fire again;
//! 2. for jobs that must not overlap across the cluster, `SET lease owner NX PX lease`
//!    on `steward:{namespace}:run:{job}` — held (and renewed) while the run lives;
//! 3. `INCR steward:{namespace}:fence:{job}` — the run's fence token, strictly
//!    increasing per job, which the child gets as `STEWARD_FENCE_TOKEN`.
//!
//! Leases are renewed with an owner-checked `PEXPIRE` and released with an owner-checked
//! `DEL` (the single-instance algorithm of the Redis documentation): a node whose lease
//! expired never extends or deletes the lease another node now holds.
//!
//! `rediss://` connects over TLS (rustls with the ring provider), verifying the server
//! against the system's roots or, with [`Settings::ca_file`], against that PEM file.
//!
//! Every call has one deadline (500 ms by default) covering the connection and the
//! command; a failure is [`ClusterError::Unavailable`], and the engine's
//! `lock_unavailable` policy decides what happens to the fire. The connection is made on
//! first use and made again after any failure, so claims resume as soon as the server
//! answers again.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script, TlsCertificates};

#[cfg(feature = "test-server")]
pub mod test_server;

/// The deadline of one Redis call (connection included) unless configured otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(500);
/// How long a claim of an instant lives unless configured otherwise.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(3600);
/// The run lease unless configured otherwise; renewed every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Everything that can go wrong talking to the lock service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The `lock =` value is not a usable Redis address.
    #[error("invalid lock address {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server could not be reached or did not answer within the deadline.
    #[error("lock service {url} unavailable: {reason}")]
    Unavailable { url: String, reason: String },
    /// The server answered something this crate does not understand.
    #[error("lock service {url} answered unexpectedly: {reason}")]
    Protocol { url: String, reason: String },
}

/// How a [`Coordinator`] names its keys and times its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `redis://[user:pass@]host:port/db`.
    pub url: String,
    /// Keeps several clusters (or applications) apart on one server.
    pub namespace: String,
    /// This node's name, stored in claims and leases (`steward cron history` shows it).
    pub node: String,
    pub claim_ttl: Duration,
    pub lease: Duration,
    pub deadline: Duration,
    /// For `rediss://`: the PEM root certificate(s) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl Settings {
    /// Settings with the default TTLs and deadline.
    pub fn new(url: &str, namespace: &str, node: &str) -> Settings {
        Settings {
            url: url.to_string(),
            namespace: namespace.to_string(),
            node: node.to_string(),
            claim_ttl: DEFAULT_CLAIM_TTL,
            lease: DEFAULT_LEASE,
            deadline: DEFAULT_DEADLINE,
            ca_file: None,
        }
    }
}

/// A run lease held by this node: what renew and release need, and the run's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: String,
    /// `node/random`: unique per run, so a renew or release by a stale holder is refused.
    pub owner: String,
    pub fence: u64,
}

/// The answer to [`Coordinator::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This node runs the fire. `lease` is held when one was asked for.
    Won {
        owner: String,
        fence: u64,
        leased: bool,
    },
    /// Another node claimed the instant first (`by` = its node name).
    Taken { by: String },
    /// This node claimed the instant, but the job is running under another lease
    /// (`by` = the holder's node name): the fire is this node's to skip or queue.
    Busy { by: String },
}

/// Claim, then (optionally) the lease, then the fence token: one atomic round trip.
const CLAIM: &str = r#"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, redis.call('GET', KEYS[1]) or ''}
end
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then
    return {2, redis.call('GET', KEYS[2]) or ''}
  end
end
return {1, tostring(redis.call('INCR', KEYS[3]))}
"#;

/// The lease alone (a queued run waiting for another node's run to end).
const ACQUIRE: &str = r#"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, redis.call('GET', KEYS[1]) or ''}
end
return {1, tostring(redis.call('INCR', KEYS[2]))}
"#;

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// The node name part of an owner value (`node/random`).
fn node_of(owner: &str) -> String {
    owner
        .rsplit_once('/')
        .map(|(n, _)| n)
        .unwrap_or(owner)
        .to_string()
}

/// Talks to one Redis server for one namespace. Cheap to share (`Arc`); calls may run
/// concurrently (one multiplexed connection).
pub struct Coordinator {
    settings: Settings,
    client: Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    claim: Script,
    acquire: Script,
    renew: Script,
    release: Script,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("settings", &self.settings)
            .finish()
    }
}

/// Checks a `lock =` value without connecting: one `redis://` or `rediss://` address.
/// (Redlock over several servers is not offered; see docs/cluster.md.)
pub fn check_url(url: &str) -> Result<(), ClusterError> {
    let invalid = |reason: &str| ClusterError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url.contains(',') {
        return Err(invalid(
            "several servers (Redlock) are not supported; give one redis:// address",
        ));
    }
    if !url.starts_with("redis://") && !url.starts_with("rediss://") {
        return Err(invalid(
            "expected redis://[user:pass@]host:port/db or rediss://…",
        ));
    }
    redis::parse_redis_url(url).ok_or_else(|| invalid("not a valid URL"))?;
    Client::open(url).map_err(|e| invalid(&e.to_string()))?;
    Ok(())
}

impl Coordinator {
    pub fn new(settings: Settings) -> Result<Coordinator, ClusterError> {
        check_url(&settings.url)?;
        let invalid = |reason: String| ClusterError::InvalidUrl {
            url: settings.url.clone(),
            reason,
        };
        let client = match (&settings.ca_file, settings.url.starts_with("rediss://")) {
            (Some(ca), true) => {
                install_crypto_provider();
                let pem = std::fs::read(ca)
                    .map_err(|e| invalid(format!("cannot read {}: {e}", ca.display())))?;
                let certs = TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Client::build_with_tls(settings.url.as_str(), certs)
            }
            (_, tls) => {
                if tls {
                    install_crypto_provider();
                }
                Client::open(settings.url.as_str())
            }
        }
        .map_err(|e| invalid(e.to_string()))?;
        Ok(Coordinator {
            settings,
            client,
            conn: tokio::sync::Mutex::new(None),
            claim: Script::new(CLAIM),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The address without its password, for messages.
    pub fn display_url(&self) -> String {
        match self.settings.url.split_once('@') {
            Some((scheme_user, host)) => match scheme_user.rsplit_once(':') {
                Some((su, _)) if su.contains("//") => {
                    format!("{su}:***@{host}")
                }
                _ => format!("{scheme_user}@{host}"),
            },
            None => self.settings.url.clone(),
        }
    }

    fn key(&self, kind: &str, job: &str) -> String {
        format!("steward:{}:{kind}:{job}", self.settings.namespace)
    }

    /// The claim key of `job`'s fire at `instant` (Unix seconds, UTC).
    pub fn claim_key(&self, job: &str, instant: i64) -> String {
        format!("{}:{instant}", self.key("cron", job))
    }

    fn new_owner(&self) -> String {
        let r: u64 = rand::thread_rng().gen();
        format!("{}/{r:016x}", self.settings.node)
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> ClusterError {
        ClusterError::Unavailable {
            url: self.display_url(),
            reason: reason.to_string(),
        }
    }

    /// Runs `script` within the deadline, connecting first if needed. Any failure drops
    /// the connection so the next call connects afresh.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, ClusterError> {
        let deadline = self.settings.deadline;
        let work = async {
            let mut guard = self.conn.lock().await;
            let mut conn = match guard.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let config = AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(deadline))
                        .set_response_timeout(Some(deadline));
                    let c = self
                        .client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .map_err(|e| self.unavailable(e))?;
                    *guard = Some(c.clone());
                    c
                }
            };
            drop(guard);
            let mut inv = script.prepare_invoke();
            for k in keys {
                inv.key(k);
            }
            for a in args {
                inv.arg(a);
            }
            let r: redis::RedisResult<T> = inv.invoke_async(&mut conn).await;
            r.map_err(|e| {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                    self.unavailable(e)
                } else {
                    ClusterError::Protocol {
                        url: self.display_url(),
                        reason: e.to_string(),
                    }
                }
            })
        };
        let result = match tokio::time::timeout(deadline, work).await {
            Ok(r) => r,
            Err(_) => Err(self.unavailable(format!("no answer within {deadline:?}"))),
        };
        if result.is_err() {
            *self.conn.lock().await = None;
        }
        result
    }

    /// Claims `job`'s fire at `instant` (Unix seconds, UTC) for this node; with
    /// `want_lease`, also takes the job's run lease.
    pub async fn claim(
        &self,
        job: &str,
        instant: i64,
        want_lease: bool,
    ) -> Result<ClaimOutcome, ClusterError> {
        let owner = self.new_owner();
        let keys = [
            self.claim_key(job, instant),
            self.key("run", job),
            self.key("fence", job),
        ];
        let args = [
            owner.clone(),
            ms(self.settings.claim_ttl),
            ms(self.settings.lease),
            if want_lease { "1" } else { "0" }.to_string(),
        ];
        let (code, value): (i64, String) = self.invoke(&self.claim, &keys, &args).await?;
        match code {
            0 => Ok(ClaimOutcome::Taken {
                by: node_of(&value),
            }),
            2 => Ok(ClaimOutcome::Busy {
                by: node_of(&value),
            }),
            1 => Ok(ClaimOutcome::Won {
                owner,
                fence: self.parse_fence(&value)?,
                leased: want_lease,
            }),
            n => Err(ClusterError::Protocol {
                url: self.display_url(),
                reason: format!("claim script returned code {n}"),
            }),
        }
    }

    fn parse_fence(&self, value: &str) -> Result<u64, ClusterError> {
        value.parse().map_err(|_| ClusterError::Protocol {
            url: self.display_url(),
            reason: format!("fence token {value:?} is not a number"),
        })
    }

    /// Takes `job`'s run lease if nobody holds it: `Ok(Err(holder))` when another node
    /// does.
    pub async fn acquire_lease(&self, job: &str) -> Result<Result<Lease, String>, ClusterError> {
        let owner = self.new_owner();
        let keys = [self.key("run", job), self.key("fence", job)];
        let args = [owner.clone(), ms(self.settings.lease)];
        let (code, value): (i64, String) = self.invoke(&self.acquire, &keys, &args).await?;
        if code == 1 {
            Ok(Ok(Lease {
                job: job.to_string(),
                owner,
                fence: self.parse_fence(&value)?,
            }))
        } else {
            Ok(Err(node_of(&value)))
        }
    }

    /// Extends `lease` by the lease time; `false` when it is no longer this run's (it
    /// expired and maybe another node holds it now).
    pub async fn renew(&self, lease: &Lease) -> Result<bool, ClusterError> {
        let keys = [self.key("run", &lease.job)];
        let args = [lease.owner.clone(), ms(self.settings.lease)];
        let n: i64 = self.invoke(&self.renew, &keys, &args).await?;
        Ok(n == 1)
    }

    /// Gives `lease` up; `false` when it was no longer this run's (nothing deleted).
    pub async fn release(&self, lease: &Lease) -> Result<bool, ClusterError> {
        let keys = [self.key("run", &lease.job)];
        let args = [lease.owner.clone()];
        let n: i64 = self.invoke(&self.release, &keys, &args).await?;
        Ok(n == 1)
    }
}

/// rustls needs a process-wide crypto provider; ring is the one built in. Installing
/// it twice is harmless (the second call reports the first).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn ms(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_values_name_their_node() {
        assert_eq!(node_of("web-1/00ff"), "web-1");
        assert_eq!(node_of("a/b/00ff"), "a/b");
        assert_eq!(node_of("plain"), "plain");
    }

    #[test]
    fn lock_addresses_are_checked_without_connecting() {
        assert!(check_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(check_url("redis://user:pw@10.0.0.5:6380/2").is_ok());
        let e = check_url("redis://a:1,redis://b:1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Redlock"), "{e}");
        assert!(check_url("rediss://a:1/0").is_ok());
        let e = check_url("http://a:1").unwrap_err().to_string();
        assert!(e.contains("expected redis://"), "{e}");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        let c = Coordinator::new(Settings::new("redis://u:secret@h:1/0", "ns", "n")).unwrap();
        assert_eq!(c.display_url(), "redis://u:***@h:1/0");
        let c = Coordinator::new(Settings::new("redis://h:1/0", "ns", "n")).unwrap();
        assert_eq!(c.display_url(), "redis://h:1/0");
        assert_eq!(
            c.claim_key("backup", 1_700_000_000),
            "steward:ns:cron:backup:1700000000"
        );
    }
}
