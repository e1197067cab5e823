//! [`ServerError`]: everything that can go wrong while binding or starting the servers.
//! The messages follow supervisord's `usage()` texts so the daemon can print them as is
//! (supervisord exits 2 after them).

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A live server already answers on the UNIX socket path, or the TCP port is taken.
    #[error(
        "Another program is already listening on a port that one of our HTTP servers is \
         configured to use.  Shut this program down first before starting supervisord."
    )]
    AddrInUse {
        /// The socket path or `host:port`.
        target: String,
    },
    /// Any other socket error (missing directory, permission denied, …).
    #[error("Cannot open an HTTP server: socket.error reported {} for {target}: {source}", errno_text(.source))]
    Socket {
        /// The socket path or `host:port`.
        target: String,
        #[source]
        source: io::Error,
    },
    /// `chown` of the UNIX socket was refused or names an unknown user/group.
    #[error("{message}")]
    Chown { path: PathBuf, message: String },
    /// The `[inet_http_server]` host could not be resolved.
    #[error(
        "Could not determine IP address for hostname {host}, please try setting an explicit \
         IP address in the \"port\" setting of your [inet_http_server] section.  For example, \
         instead of \"port = 9001\", try \"port = 127.0.0.1:9001.\""
    )]
    Resolve { host: String },
    #[error("{0}")]
    Other(String),
}

impl ServerError {
    pub(crate) fn socket(target: impl Into<String>, source: io::Error) -> ServerError {
        if source.raw_os_error() == Some(libc::EADDRINUSE) {
            return ServerError::AddrInUse {
                target: target.into(),
            };
        }
        ServerError::Socket {
            target: target.into(),
            source,
        }
    }
}

/// `errno.ENOENT (2)` as Python prints it; `an unexpected error` when no errno is known.
fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => match errno_name(n) {
            Some(name) => format!("errno.{name} ({n})"),
            None => format!("{n}"),
        },
        None => format!("{:?}", e.kind()),
    }
}

fn errno_name(n: i32) -> Option<&'static str> {
    let table: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::EACCES, "EACCES"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EROFS, "EROFS"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ELOOP, "ELOOP"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENFILE, "ENFILE"),
        (libc::ENOBUFS, "ENOBUFS"),
        (libc::ENOMEM, "ENOMEM"),
    ];
    table.iter().find(|(v, _)| *v == n).map(|(_, s)| *s)
}
