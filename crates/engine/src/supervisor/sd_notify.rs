//! `sd_notify = true`: systemd's readiness protocol for children, so a program written for
//! `Type=notify` needs no change.
//!
//! Data flow: before a spawn the loop binds one datagram socket per child in the abstract
//! namespace ([`NotifySocket::bind`]) and passes it as `NOTIFY_SOCKET=@…` (plus
//! `WATCHDOG_USEC` when `watchdog_sec` is set). After the spawn a task on the runtime
//! ([`run_notifier`]) reads the child's messages: `READY=1` becomes [`Verdict::Ready`],
//! `WATCHDOG=1` re-arms the watchdog (first armed at `READY=1`, as systemd does once
//! start-up is complete), `WATCHDOG=trigger` or a watchdog that runs out
//! becomes [`Verdict::Unhealthy`]; the loop treats these like a health checker's verdicts.
//! The task ends (and the socket closes) when the process exits.
//!
//! Abstract socket names are visible to every local user (`/proc/net/unix`), so a name is
//! no secret: every datagram carries the sender's kernel-checked credentials
//! (`SO_PASSCRED`), and only those from the child's own pid count (systemd's
//! `NotifyAccess=main`).

use std::io::{self, IoSliceMut};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, UnixAddr};
use tokio::io::Interest;

use super::*;

/// A bound notify socket, not yet handed to its task.
pub(super) struct NotifySocket {
    sock: std::os::unix::net::UnixDatagram,
    /// `NOTIFY_SOCKET` as the child sees it (`@` for the abstract namespace).
    pub(super) env_value: String,
}

impl NotifySocket {
    pub(super) fn bind() -> io::Result<NotifySocket> {
        let name = format!(
            "steward/{}/notify/{:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        let sock = std::os::unix::net::UnixDatagram::bind_addr(&addr)?;
        setsockopt(&sock, sockopt::PassCred, &true).map_err(io::Error::from)?;
        sock.set_nonblocking(true)?;
        Ok(NotifySocket {
            sock,
            env_value: format!("@{name}"),
        })
    }
}

impl Engine {
    /// The environment a child with `sd_notify` gets, and the socket behind it.
    pub(super) fn notify_socket_for(
        &mut self,
        cfg: &ProcessConfig,
    ) -> (Option<NotifySocket>, Vec<(String, String)>) {
        let Some(h) = cfg.health.as_deref().filter(|h| h.sd_notify) else {
            return (None, Vec::new());
        };
        match NotifySocket::bind() {
            Ok(sock) => {
                let mut env = vec![("NOTIFY_SOCKET".to_string(), sock.env_value.clone())];
                if let Some(w) = h.watchdog {
                    env.push(("WATCHDOG_USEC".into(), w.as_micros().to_string()));
                }
                (Some(sock), env)
            }
            Err(e) => {
                self.log.log(
                    LogLevel::Error,
                    &format!("cannot create the notify socket of {}: {e}", cfg.name),
                );
                (None, Vec::new())
            }
        }
    }

    /// Starts reading the notify socket of the child just spawned.
    pub(super) fn start_notifier(&mut self, gi: usize, pi: usize, sock: NotifySocket) {
        let p = &mut self.groups[gi].procs[pi];
        let watchdog = p.cfg.health.as_deref().and_then(|h| h.watchdog);
        let Some(r) = p.readiness.as_deref_mut() else {
            return;
        };
        let task = tokio::spawn(run_notifier(
            sock,
            p.key.clone(),
            p.pid,
            watchdog,
            self.tx.clone(),
        ));
        r.notifier = Some(task.abort_handle());
    }
}

/// Reads one child's notify messages until the process exits (the loop aborts the task).
async fn run_notifier(
    sock: NotifySocket,
    key: ProcKey,
    pid: i32,
    watchdog: Option<Duration>,
    tx: mpsc::UnboundedSender<Request>,
) {
    let Ok(sock) = tokio::net::UnixDatagram::from_std(sock.sock) else {
        return;
    };
    let send = |verdict: Verdict| {
        tx.send(Request::Health {
            key: key.clone(),
            pid,
            verdict,
        })
        .is_ok()
    };
    // Armed at READY=1, as systemd arms it once start-up is complete.
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut tripped = false;
    let mut buf = vec![0u8; 4096];
    loop {
        let watchdog_due = async {
            match deadline {
                Some(d) if !tripped => tokio::time::sleep_until(d).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            received = recv_with_sender(&sock, &mut buf) => {
                let Ok((len, sender)) = received else {
                    return;
                };
                if sender != Some(pid) {
                    continue;
                }
                for line in String::from_utf8_lossy(&buf[..len]).lines() {
                    let sent = match line.trim() {
                        "READY=1" => {
                            if deadline.is_none() {
                                deadline = watchdog.map(|w| tokio::time::Instant::now() + w);
                            }
                            send(Verdict::Ready)
                        }
                        "WATCHDOG=1" => {
                            deadline = watchdog.map(|w| tokio::time::Instant::now() + w);
                            if std::mem::take(&mut tripped) {
                                send(Verdict::Ready)
                            } else {
                                true
                            }
                        }
                        "WATCHDOG=trigger" => {
                            tripped = true;
                            send(Verdict::Unhealthy {
                                failures: 1,
                                message: "the process sent WATCHDOG=trigger".into(),
                            })
                        }
                        _ => true,
                    };
                    if !sent {
                        return;
                    }
                }
            }
            () = watchdog_due => {
                tripped = true;
                let w = watchdog.unwrap_or_default();
                if !send(Verdict::Unhealthy {
                    failures: 1,
                    message: format!("no WATCHDOG=1 for {}s (watchdog_sec)", w.as_secs_f64()),
                }) {
                    return;
                }
            }
        }
    }
}

/// One datagram and the pid the kernel vouches sent it.
async fn recv_with_sender(
    sock: &tokio::net::UnixDatagram,
    buf: &mut [u8],
) -> io::Result<(usize, Option<i32>)> {
    loop {
        sock.readable().await?;
        let got = sock.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(buf)];
            let mut cmsg = nix::cmsg_space!(libc::ucred);
            let msg = recvmsg::<UnixAddr>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from)?;
            let sender = msg.cmsgs().ok().and_then(|mut all| {
                all.find_map(|c| match c {
                    ControlMessageOwned::ScmCredentials(cred) => Some(cred.pid()),
                    _ => None,
                })
            });
            Ok((msg.bytes, sender))
        });
        match got {
            Ok(r) => return Ok(r),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}
