//! Creating the listening sockets, synchronously (std sockets, no runtime), so the daemon
//! can bind before daemonizing and report errors on the terminal.
//!
//! UNIX sockets follow supervisord: bind `<file>.<pid>`, chmod it, hard-link it to `<file>`
//! (atomic: the link fails if the path exists), chown, and always unlink the temporary
//! name. If `<file>` exists, it is probed (connect, `GET / HTTP/1.0`, read one byte): an
//! answer means another server is live → [`ServerError::AddrInUse`]; otherwise the stale
//! socket is unlinked and the bind retried. TCP sockets get `SO_REUSEADDR` and a listen
//! backlog of 1024. The [`BoundServers`] then goes to [`BoundServers::serve`].

use std::fs;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use steward_config::model::{InetHttpServer, UnixHttpServer};

use crate::auth::Auth;
use crate::error::ServerError;
use crate::ServerOptions;

/// Something the daemon should log about the servers it just bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warn,
    Critical,
}

pub(crate) struct BoundUnix {
    pub(crate) listener: UnixListener,
    pub(crate) path: PathBuf,
    /// (dev, ino) of the socket we created, so shutdown never unlinks someone else's.
    pub(crate) id: (u64, u64),
    pub(crate) auth: Option<Auth>,
}

pub(crate) struct BoundTcp {
    pub(crate) listener: std::net::TcpListener,
    pub(crate) auth: Option<Auth>,
    /// `base_path` of the section (a reverse proxy's sub-path).
    pub(crate) base_path: Option<std::sync::Arc<str>>,
}

/// Listening sockets that are bound but not served yet. Dropping it unlinks the UNIX sockets.
pub struct BoundServers {
    pub(crate) unix: Vec<BoundUnix>,
    pub(crate) tcp: Vec<BoundTcp>,
    pub(crate) options: ServerOptions,
    notices: Vec<Notice>,
    /// One reserved descriptor per listener, opened here, before the children can take
    /// them all (see `conn::accept_loop`).
    pub(crate) spares: Vec<fs::File>,
}

impl BoundServers {
    /// Binds every `[unix_http_server]` and `[inet_http_server]`, in that order. On error,
    /// sockets bound so far are closed and unlinked.
    pub fn bind(
        unix: &[UnixHttpServer],
        inet: &[InetHttpServer],
        options: ServerOptions,
    ) -> Result<BoundServers, ServerError> {
        let mut bound = BoundServers {
            unix: Vec::new(),
            tcp: Vec::new(),
            options,
            notices: Vec::new(),
            spares: Vec::new(),
        };
        // supervisord announces each server as it starts it, inet servers first:
        // "RPC interface 'supervisor' initialized", then the no-auth warning.
        let mut unix_notices = Vec::new();
        for cfg in unix {
            let (listener, id) =
                bind_unix(cfg, bound.options.stale_probe_timeout, &mut unix_notices)?;
            let auth = Auth::new(cfg.username.as_deref(), cfg.password.as_deref());
            unix_notices.push(rpc_notice());
            if auth.is_none() {
                unix_notices.push(no_auth_notice(&cfg.section));
            }
            bound.unix.push(BoundUnix {
                listener,
                path: cfg.file.clone(),
                id,
                auth,
            });
        }
        for cfg in inet {
            let listener = bind_tcp(cfg)?;
            let auth = Auth::new(cfg.username.as_deref(), cfg.password.as_deref());
            bound.notices.push(rpc_notice());
            if auth.is_none() {
                bound.notices.push(no_auth_notice(&cfg.section));
            }
            bound.tcp.push(BoundTcp {
                listener,
                auth,
                base_path: cfg.base_path.as_deref().map(Into::into),
            });
        }
        bound.notices.extend(unix_notices);
        for _ in 0..bound.unix.len() + bound.tcp.len() {
            if let Ok(f) = fs::File::open("/dev/null") {
                bound.spares.push(f);
            }
        }
        Ok(bound)
    }

    /// Messages to log (stale sockets unlinked, servers without authentication).
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Actual addresses of the TCP listeners, in configuration order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp
            .iter()
            .filter_map(|t| t.listener.local_addr().ok())
            .collect()
    }

    pub(crate) fn take_parts(&mut self) -> (Vec<BoundUnix>, Vec<BoundTcp>) {
        (
            std::mem::take(&mut self.unix),
            std::mem::take(&mut self.tcp),
        )
    }
}

impl Drop for BoundServers {
    fn drop(&mut self) {
        for u in &self.unix {
            unlink_if_ours(&u.path, u.id);
        }
    }
}

fn rpc_notice() -> Notice {
    Notice {
        level: NoticeLevel::Info,
        message: "RPC interface 'supervisor' initialized".into(),
    }
}

fn no_auth_notice(section: &str) -> Notice {
    Notice {
        level: NoticeLevel::Critical,
        message: format!("Server '{section}' running without any HTTP authentication checking"),
    }
}

/// Unlinks `path` only if it is still the socket we bound.
pub(crate) fn unlink_if_ours(path: &Path, id: (u64, u64)) {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if (meta.dev(), meta.ino()) == id {
            let _ = fs::remove_file(path);
        }
    }
}

/// Removes the temporary `<file>.<pid>` name when dropped.
struct TempName(PathBuf);

impl Drop for TempName {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn bind_unix(
    cfg: &UnixHttpServer,
    probe_timeout: Duration,
    notices: &mut Vec<Notice>,
) -> Result<(UnixListener, (u64, u64)), ServerError> {
    let path = &cfg.file;
    let target = path.display().to_string();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);

    for _attempt in 0..10 {
        let listener = UnixListener::bind(&tmp).map_err(|e| ServerError::socket(&target, e))?;
        let _tmp_guard = TempName(tmp.clone());
        // std listens with a backlog of 128; supervisord uses 1024. Re-listening only
        // updates the backlog.
        // SAFETY: plain syscall on a valid, owned socket descriptor.
        unsafe { libc::listen(listener.as_raw_fd(), 1024) };
        fs::set_permissions(&tmp, fs::Permissions::from_mode(cfg.chmod))
            .map_err(|e| ServerError::socket(&target, e))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => {
                if let Some(spec) = cfg.chown.as_deref() {
                    if let Err(e) = chown(path, spec) {
                        let _ = fs::remove_file(path);
                        return Err(e);
                    }
                }
                let meta =
                    fs::symlink_metadata(path).map_err(|e| ServerError::socket(&target, e))?;
                return Ok((listener, (meta.dev(), meta.ino())));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta =
                    fs::symlink_metadata(path).map_err(|e| ServerError::socket(&target, e))?;
                if !meta.file_type().is_socket() {
                    return Err(ServerError::Other(format!(
                        "Cannot open an HTTP server: {target} exists and is not a socket"
                    )));
                }
                if socket_is_live(path, probe_timeout) {
                    return Err(ServerError::AddrInUse { target });
                }
                notices.push(Notice {
                    level: NoticeLevel::Warn,
                    message: format!("Unlinking stale socket {target}"),
                });
                let _ = fs::remove_file(path);
                drop(listener);
                continue;
            }
            Err(e) => return Err(ServerError::socket(&target, e)),
        }
    }
    Err(ServerError::Other(format!(
        "Cannot open an HTTP server: {target} keeps reappearing (another supervisord starting?)"
    )))
}

/// supervisord's `checkused`: connect, send `GET / HTTP/1.0`, read one byte. Any failure
/// → stale; a successful exchange (or a listener that accepts but stays silent) → live.
fn socket_is_live(path: &Path, timeout: Duration) -> bool {
    let Ok(mut s) = UnixStream::connect(path) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        // Even an immediate EOF means something accepted the connection (Python's recv
        // returns b'' without raising).
        Ok(0) | Ok(1) => true,
        Ok(_) => true,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
    }
}

/// `chown = user[:group]`: names or numeric ids; without a group, the user's primary group.
fn chown(path: &Path, spec: &str) -> Result<(), ServerError> {
    use nix::unistd::{Group, User};
    let err = |message: String| ServerError::Chown {
        path: path.to_path_buf(),
        message,
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, primary_gid) = match User::from_name(user) {
        Ok(Some(u)) => (u.uid.as_raw(), Some(u.gid.as_raw())),
        _ => match user.parse::<u32>() {
            Ok(n) => {
                let gid = User::from_uid(n.into())
                    .ok()
                    .flatten()
                    .map(|u| u.gid.as_raw());
                (n, gid)
            }
            Err(_) => return Err(err(format!("Invalid user name {user}"))),
        },
    };
    let gid = match group {
        Some(g) => match Group::from_name(g) {
            Ok(Some(gr)) => gr.gid.as_raw(),
            _ => g
                .parse::<u32>()
                .map_err(|_| err(format!("Invalid group name {g}")))?,
        },
        None => primary_gid.ok_or_else(|| err(format!("No such user {user}")))?,
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
        if e.raw_os_error() == Some(libc::EPERM) {
            let me = User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| nix::unistd::geteuid().to_string());
            err(format!(
                "Not permitted to chown {} to uid/gid ({uid}, {gid}); adjust \"sockchown\" value \
                 in config file or on command line to values that the current user ({me}) can \
                 successfully chown",
                path.display()
            ))
        } else {
            err(format!("Cannot chown {}: {e}", path.display()))
        }
    })
}

/// `host` as the config model holds it: empty or `*` = all interfaces, `[v6]` literal, an
/// IP literal, or a host name (resolved; the first address wins).
pub(crate) fn resolve(host: &str, port: u16) -> Result<SocketAddr, ServerError> {
    if host.is_empty() || host == "*" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|_| ServerError::Resolve {
            host: host.to_string(),
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| ServerError::Resolve {
            host: host.to_string(),
        })
}

fn bind_tcp(cfg: &InetHttpServer) -> Result<std::net::TcpListener, ServerError> {
    let addr = resolve(&cfg.host, cfg.port)?;
    let target = match addr {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
    };
    let sock = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(|e| ServerError::socket(&target, e))?;
    sock.set_reuseaddr(true)
        .map_err(|e| ServerError::socket(&target, e))?;
    sock.bind(addr)
        .map_err(|e| ServerError::socket(&target, e))?;
    let fd = sock.into_raw_fd();
    // SAFETY: `fd` is the socket we just created and own; ownership moves to the listener.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    // SAFETY: plain syscall on a valid socket descriptor.
    if unsafe { libc::listen(fd, 1024) } != 0 {
        return Err(ServerError::socket(&target, io::Error::last_os_error()));
    }
    Ok(listener)
}
