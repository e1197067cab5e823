//! Small formatting helpers that reproduce Python's textual conventions, because
//! supervisord's messages embed Python reprs, errno names and timedelta strings that
//! clients and log scrapers read verbatim.

pub use steward_config::interpolate::py_repr;

/// The symbolic name of an errno (`ENOENT`), as Python's `errno.errorcode` gives it; the
/// number itself when unknown.
pub fn errno_name(errno: i32) -> String {
    match errno_symbol(errno) {
        Some(name) => name.to_string(),
        None => errno.to_string(),
    }
}

/// The symbolic name of an errno without allocating: safe between fork and exec.
pub fn errno_symbol(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        _ => return None,
    })
}

/// Python's `str(datetime.timedelta(seconds=n))` for whole seconds: `0:01:02`,
/// `1 day, 0:00:05`, `5 days, 7:18:14`.
pub fn timedelta(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let days = seconds / 86_400;
    let rem = seconds % 86_400;
    let hms = format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// `time.strftime('%b %d %I:%M %p', time.localtime(t))`: `Nov 19 09:35 AM`.
pub fn stop_time(epoch: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(epoch) else {
        return String::new();
    };
    let zoned = ts.to_zoned(jiff::tz::TimeZone::system());
    zoned.strftime("%b %d %I:%M %p").to_string()
}

/// The signal's name as supervisord's `signame` prints it (`SIGTERM`).
pub fn signame(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("signal {sig}"),
    }
}

/// supervisord's `decode_wait_status`: (exit status, message). Killed by a signal gives -1
/// and `terminated by SIGKILL` (plus ` (core dumped)`).
pub fn decode_wait_status(status: i32) -> (i32, String) {
    if libc::WIFEXITED(status) {
        let es = libc::WEXITSTATUS(status);
        (es, format!("exit status {es}"))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let mut msg = format!("terminated by {}", signame(sig));
        if libc::WCOREDUMP(status) {
            msg.push_str(" (core dumped)");
        }
        (-1, msg)
    } else {
        (-1, format!("unknown termination cause 0x{status:04x}"))
    }
}

/// The `description` of getProcessInfo (supervisord's `_interpretProcessInfo`).
pub fn describe(p: &crate::ProcInfo, now: f64) -> String {
    match p.state {
        crate::ProcessState::Running => {
            let uptime = now.trunc() as i64 - p.start.trunc() as i64;
            format!("pid {}, uptime {}", p.pid, timedelta(uptime))
        }
        crate::ProcessState::Fatal | crate::ProcessState::Backoff => match &p.spawnerr {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("unknown error (try \"tail {}\")", p.name),
        },
        crate::ProcessState::Stopped | crate::ProcessState::Exited => {
            if p.start != 0.0 {
                stop_time(p.stop as i64)
            } else {
                "Not started".into()
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("tab\there"), "'tab\\there'");
    }

    #[test]
    fn timedelta_matches_python() {
        assert_eq!(timedelta(62), "0:01:02");
        assert_eq!(timedelta(86_405), "1 day, 0:00:05");
        assert_eq!(
            timedelta(5 * 86_400 + 7 * 3600 + 18 * 60 + 14),
            "5 days, 7:18:14"
        );
        assert_eq!(timedelta(-3), "0:00:00");
    }

    #[test]
    fn wait_status_decoding() {
        assert_eq!(decode_wait_status(3 << 8), (3, "exit status 3".into()));
        assert_eq!(decode_wait_status(9), (-1, "terminated by SIGKILL".into()));
        assert_eq!(decode_wait_status(15), (-1, "terminated by SIGTERM".into()));
    }
}
