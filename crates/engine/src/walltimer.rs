//! A wall-clock timer for cron fire times that also reports clock jumps.
//!
//! Cron schedules are wall-clock times, but tokio's timers run on the monotonic clock, so
//! an NTP step or a suspend would make them fire at the wrong wall time. A Linux timerfd on
//! `CLOCK_REALTIME` armed with `TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET` fires at the
//! absolute wall time and is cancelled (ECANCELED) the moment the clock is set, so the
//! scheduler re-plans immediately. While nothing is due the timer is disarmed: no wakeups.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;

/// What woke the timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallWake {
    Fired,
    ClockChanged,
}

pub struct WallTimer {
    fd: AsyncFd<OwnedFd>,
    armed: bool,
}

impl WallTimer {
    pub fn new() -> std::io::Result<WallTimer> {
        // SAFETY: plain syscall; the fd is owned below.
        let raw = unsafe {
            libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the timerfd is owned by the AsyncFd and lives exactly as long as it.
        let fd = unsafe { AsyncFd::register(fd)? };
        Ok(WallTimer { fd, armed: false })
    }

    /// Arms the timer for an absolute wall time (epoch nanoseconds); `None` disarms.
    pub fn arm(&mut self, at_epoch_nanos: Option<i128>) -> std::io::Result<()> {
        let mut spec: libc::itimerspec = unsafe { std::mem::zeroed() };
        let mut flags = 0;
        if let Some(at) = at_epoch_nanos {
            // 0 would disarm; anything in the past fires at once.
            let at = at.max(1);
            spec.it_value.tv_sec = (at / 1_000_000_000) as libc::time_t;
            spec.it_value.tv_nsec = (at % 1_000_000_000) as libc::c_long;
            flags = libc::TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
        }
        // SAFETY: valid fd and itimerspec.
        let r = unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), flags, &spec, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.armed = at_epoch_nanos.is_some();
        Ok(())
    }

    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// Waits until the timer fires or the clock is set.
    pub async fn wait(&mut self) -> WallWake {
        loop {
            let mut guard = match self.fd.readable().await {
                Ok(g) => g,
                Err(_) => return WallWake::ClockChanged,
            };
            let mut buf = [0u8; 8];
            // SAFETY: reading 8 bytes into a valid buffer.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n == 8 {
                self.armed = false;
                return WallWake::Fired;
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) => guard.clear_ready(),
                Some(libc::ECANCELED) => {
                    self.armed = false;
                    return WallWake::ClockChanged;
                }
                _ => {
                    self.armed = false;
                    return WallWake::ClockChanged;
                }
            }
        }
    }
}

/// Not exported by the libc crate on every target.
const TFD_TIMER_CANCEL_ON_SET: libc::c_int = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_at_an_absolute_wall_time() {
        let mut t = WallTimer::new().unwrap();
        let now = jiff::Timestamp::now().as_nanosecond();
        let start = std::time::Instant::now();
        t.arm(Some(now + 50_000_000)).unwrap();
        assert_eq!(t.wait().await, WallWake::Fired);
        assert!(start.elapsed() >= std::time::Duration::from_millis(45));
    }

    #[tokio::test]
    async fn a_past_time_fires_at_once() {
        let mut t = WallTimer::new().unwrap();
        t.arm(Some(1_000)).unwrap();
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), t.wait()).await;
        assert_eq!(r.unwrap(), WallWake::Fired);
    }
}
