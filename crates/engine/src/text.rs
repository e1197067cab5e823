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

/// The local time zone of activity log lines and stop times, read once, as Python's
/// `time.localtime` reads it once at start.
///
/// Without `TZ`, `/etc/localtime` is read directly: jiff's `TimeZone::system()` names the
/// zone by indexing every file under `/usr/share/zoneinfo`, ~110 KB of names kept for the
/// daemon's lifetime when only the offsets are needed. With `TZ` (or no readable
/// `/etc/localtime`) jiff decides, as everywhere else.
pub fn local_zone() -> jiff::tz::TimeZone {
    static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| {
        const LOCALTIME: &str = "/etc/localtime";
        if std::env::var_os("TZ").is_none() {
            if let Ok(tzif) = std::fs::read(LOCALTIME) {
                let name = std::fs::read_link(LOCALTIME)
                    .ok()
                    .and_then(|target| {
                        let target = target.to_string_lossy().into_owned();
                        target
                            .split_once("zoneinfo/")
                            .map(|(_, name)| name.to_string())
                    })
                    .unwrap_or_else(|| "Local".to_string());
                if let Ok(zone) = jiff::tz::TimeZone::tzif(&name, &tzif) {
                    return zone;
                }
            }
        }
        jiff::tz::TimeZone::system()
    })
    .clone()
}

/// `time.strftime('%b %d %I:%M %p', time.localtime(t))`: `Nov 19 09:35 AM`.
pub fn stop_time(epoch: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(epoch) else {
        return String::new();
    };
    let zoned = ts.to_zoned(local_zone());
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

    /// Reading /etc/localtime ourselves must give the offsets jiff's system zone gives.
    #[test]
    fn local_zone_agrees_with_the_system_zone() {
        let system = jiff::tz::TimeZone::system();
        let local = local_zone();
        for second in [
            0,
            1_700_000_000,
            1_711_846_800,
            1_729_990_800,
            2_000_000_000,
        ] {
            let t = jiff::Timestamp::from_second(second).unwrap();
            assert_eq!(local.to_offset(t), system.to_offset(t), "at {t}");
        }
    }

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
