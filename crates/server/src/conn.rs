//! Accept loops, per-connection tasks and the running [`Servers`].
//!
//! Each listener gets an accept loop task that owns a `JoinSet` of its connections, so one
//! client never stalls another and shutdown can drop them all. A connection is served by
//! hyper's HTTP/1.1 server (keep-alive on) over [`TimedIo`], an I/O adapter that enforces:
//! - the header read timeout: from the connection's start, and later once a non-blank byte
//!   of a new request arrives, the service must be reached within `header_read_timeout` (hyper's own timer is off because it would
//!   also kill idle keep-alive connections);
//! - the idle timeout for keep-alive connections with no request in progress;
//! - eviction: every connection is registered in one [`ConnTable`] for the server set;
//!   past the cap, the connection without a request in service that has been
//!   unproductive longest gets a failed read and hyper closes it.
//!
//! While a request is in service (tracked by [`ActiveGuard`]s, which live until the response
//! body is dropped) neither applies, so long-polling RPCs and followed logs are unlimited.
//! [`PeerProbe`] lets a streaming body notice a vanished client even when hyper is not
//! reading (e.g. because supervisorctl's extra CRLF sits in its buffer).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, Sleep};

use crate::auth::Auth;
use crate::listen::{unlink_if_ours, BoundServers};
use crate::service::{self, Ctx};
use crate::{Backend, ServerError};

#[derive(Debug)]
struct TrackState {
    active: usize,
    head_started: Option<Instant>,
    last_activity: Instant,
    /// Chosen by [`ConnTable`] to make room: the next read fails, hyper closes.
    evicted: bool,
    /// The reader waiting on the socket, woken when the connection is evicted.
    waker: Option<Waker>,
}

impl TrackState {
    /// Since when this connection has held a slot without a request in service: a
    /// trickling request head counts from its first byte, an idle keep-alive from its
    /// last activity.
    fn unproductive_since(&self) -> Instant {
        self.head_started.unwrap_or(self.last_activity)
    }
}

/// Every open connection of one server set (all listeners), so that the cap holds
/// across them: [`ConnTable::admit`] registers a new connection and, past
/// `max_connections`, evicts the one without a request in service that has been
/// unproductive longest (slowloris heads and idle keep-alives go first; a long poll or
/// a followed log never does).
#[derive(Debug)]
pub(crate) struct ConnTable {
    open: Mutex<HashMap<u64, Arc<Track>>>,
    next_id: AtomicU64,
    max: usize,
    evictions: AtomicU64,
}

impl ConnTable {
    fn new(max: usize) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            max: max.max(1),
            evictions: AtomicU64::new(0),
        })
    }

    /// Registers `track` for as long as the returned guard lives.
    fn admit(self: &Arc<ConnTable>, track: Arc<Track>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let over = {
            let mut open = self.open.lock().unwrap();
            open.insert(id, track);
            open.len().saturating_sub(self.max)
        };
        for _ in 0..over {
            if !self.evict_one() {
                break;
            }
        }
        Registration {
            table: self.clone(),
            id,
        }
    }

    /// Evicts the connection without a request in service that has been unproductive
    /// longest. False when every connection is busy.
    fn evict_one(&self) -> bool {
        let open = self.open.lock().unwrap();
        let mut victim: Option<(Instant, &Arc<Track>)> = None;
        for track in open.values() {
            let st = track.state.lock().unwrap();
            if st.active > 0 || st.evicted {
                continue;
            }
            let since = st.unproductive_since();
            if victim.is_none_or(|(v, _)| since < v) {
                victim = Some((since, track));
            }
        }
        let Some((_, track)) = victim else {
            return false;
        };
        let mut st = track.state.lock().unwrap();
        st.evicted = true;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        self.evictions.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// Removes a connection from its [`ConnTable`] when the connection ends.
struct Registration {
    table: Arc<ConnTable>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.open.lock().unwrap().remove(&self.id);
    }
}

/// `min(1024, RLIMIT_NOFILE / 2)`: half the descriptors stay for children's pipes, log
/// files and the daemon's own files.
fn default_max_connections() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    };
    (nofile / 2).clamp(16, 1024) as usize
}

/// Requests in service across every listener of one server set, so a shutdown can let
/// the answers already being written (`supervisor.shutdown`'s own among them) go out
/// before the connections close.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl InFlight {
    /// Waits until no request is in service, or `grace` has passed (a followed log or a
    /// long poll never ends by itself).
    async fn drain(&self, grace: Duration) {
        let _ = tokio::time::timeout(grace, async {
            loop {
                let idle = self.idle.notified();
                if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await;
    }
}

/// How long a shutdown waits for answers in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Shared between a connection's I/O adapter and its in-flight requests.
#[derive(Debug)]
pub(crate) struct Track {
    state: Mutex<TrackState>,
    inflight: Arc<InFlight>,
}

impl Track {
    fn new(inflight: Arc<InFlight>) -> Arc<Track> {
        Arc::new(Track {
            inflight,
            state: Mutex::new(TrackState {
                active: 0,
                // A fresh connection must deliver its first request's headers in time too.
                head_started: Some(Instant::now()),
                last_activity: Instant::now(),
                evicted: false,
                waker: None,
            }),
        })
    }

    /// Called when a request reaches the service; the guard ends it.
    pub(crate) fn begin(self: &Arc<Track>) -> ActiveGuard {
        let mut st = self.state.lock().unwrap();
        st.active += 1;
        st.head_started = None;
        self.inflight
            .count
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ActiveGuard(self.clone())
    }
}

/// Marks one request as in service until dropped (it travels inside the response body).
#[derive(Debug)]
pub(crate) struct ActiveGuard(Arc<Track>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap();
        st.active = st.active.saturating_sub(1);
        st.last_activity = Instant::now();
        let before = self
            .0
            .inflight
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        if before == 1 {
            self.0.inflight.idle.notify_waiters();
        }
    }
}

/// Non-destructive "has the peer hung up?" check on a connection's socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerProbe(RawFd);

impl PeerProbe {
    /// Only meaningful while the connection (which owns the descriptor) is alive, which is
    /// the case whenever a response body of that connection is being polled.
    pub(crate) fn peer_closed(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut pfd = libc::pollfd {
                fd: self.0,
                events: libc::POLLRDHUP,
                revents: 0,
            };
            // SAFETY: one valid pollfd, zero timeout.
            let n = unsafe { libc::poll(&mut pfd, 1, 0) };
            n > 0
                && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL)
                    != 0
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let mut b = 0u8;
            // SAFETY: peeking one byte into a valid buffer.
            let n = unsafe {
                libc::recv(
                    self.0,
                    &mut b as *mut u8 as *mut libc::c_void,
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            if n == 0 {
                return true;
            }
            n < 0 && {
                let e = io::Error::last_os_error();
                e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::Interrupted
            }
        }
    }
}

/// The connection's socket with the header-read and idle timeouts applied to reads.
struct TimedIo<S> {
    inner: S,
    track: Arc<Track>,
    sleep: Pin<Box<Sleep>>,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        {
            let mut st = this.track.state.lock().unwrap();
            if st.waker.as_ref().is_none_or(|w| !w.will_wake(cx.waker())) {
                st.waker = Some(cx.waker().clone());
            }
            if st.evicted && st.active == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "closed to make room for another connection",
                )));
            }
        }
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if !new.is_empty() {
                    let now = Instant::now();
                    let mut st = this.track.state.lock().unwrap();
                    st.last_activity = now;
                    let blank = new.iter().all(|b| *b == b'\r' || *b == b'\n');
                    if st.active == 0 && st.head_started.is_none() && !blank {
                        st.head_started = Some(now);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let deadline = {
                    let st = this.track.state.lock().unwrap();
                    if st.active > 0 {
                        None
                    } else if let Some(h) = st.head_started {
                        Some(h + this.header_timeout)
                    } else {
                        Some(st.last_activity + this.idle_timeout)
                    }
                };
                if let Some(d) = deadline {
                    if this.sleep.deadline() != d {
                        this.sleep.as_mut().reset(d);
                    }
                    if this.sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "request header or idle timeout",
                        )));
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

use std::future::Future;

async fn serve_conn<S>(stream: S, ctx: Arc<Ctx>, peer: Option<String>)
where
    S: AsyncRead + AsyncWrite + AsRawFd + Unpin + Send + 'static,
{
    let probe = PeerProbe(stream.as_raw_fd());
    let track = Track::new(ctx.inflight.clone());
    let _registration = ctx.conns.admit(track.clone());
    let io = TimedIo {
        inner: stream,
        track: track.clone(),
        sleep: Box::pin(tokio::time::sleep(ctx.options.idle_timeout)),
        header_timeout: ctx.options.header_read_timeout,
        idle_timeout: ctx.options.idle_timeout,
    };
    let peer: Option<Arc<str>> = peer.map(Into::into);
    let svc = hyper::service::service_fn(move |req| {
        let guard = track.begin();
        service::handle(req, ctx.clone(), probe, guard, peer.clone())
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .header_read_timeout(None)
        // A client may send its request and shut down its write side (as some HTTP
        // clients and `nc -N` do); it must still get the answer.
        .half_close(true);
    let _ = builder.serve_connection(TokioIo::new(io), svc).await;
}

/// Serves one already-connected stream as a listener of this kind would (same routes,
/// Basic authentication when `username` is set, same timeouts and limits), until the
/// client is done. What the HTTP fuzz target drives through a socket pair.
pub async fn serve_stream(
    stream: tokio::net::UnixStream,
    backend: Arc<dyn Backend>,
    username: Option<&str>,
    password: Option<&str>,
    options: crate::ServerOptions,
) {
    let auth = Auth::new(username, password).map(Arc::new);
    let ctx = Arc::new(Ctx {
        base_path: None,
        conns: ConnTable::new(1),
        backend,
        api_basic: auth.clone().map(|a| {
            let check: steward_api::access::BasicCheck =
                Arc::new(move |header: &[u8]| a.principal(header));
            check
        }),
        auth,
        options,
        listener: steward_api::access::Listener::UnixSocket,
        inflight: Arc::new(InFlight::default()),
    });
    serve_conn(stream, ctx, None).await;
}

enum AnyListener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

async fn accept_loop(
    listener: AnyListener,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
    mut spare: Option<std::fs::File>,
) {
    let mut conns = JoinSet::new();
    // One descriptor held in reserve: when the process runs out (EMFILE, e.g. the children's
    // pipes and logs took the rest), it is given up so one client, supervisorctl asking
    // what went wrong, still gets in. Taken back as soon as a descriptor frees up.
    loop {
        if spare.is_none() {
            spare = open_spare();
        }
        tokio::select! {
            _ = stop.changed() => {
                ctx.inflight.drain(SHUTDOWN_GRACE).await;
                break;
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            res = accept(&listener) => match res {
                Ok(accepted) => { conns.spawn(serve_accepted(accepted, ctx.clone())); }
                // EMFILE and friends: free one slot, give up the spare descriptor for this
                // client, and back off instead of spinning.
                Err(e) => {
                    if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) {
                        ctx.conns.evict_one();
                        if spare.take().is_some() {
                            if let Ok(Ok(accepted)) =
                                tokio::time::timeout(Duration::from_millis(50), accept(&listener)).await
                            {
                                conns.spawn(serve_accepted(accepted, ctx.clone()));
                            }
                            continue;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    conns.shutdown().await;
}

fn open_spare() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

async fn serve_accepted(accepted: Accepted, ctx: Arc<Ctx>) {
    match accepted {
        Accepted::Unix(s) => serve_conn(s, ctx, None).await,
        Accepted::Tcp(s) => {
            let _ = s.set_nodelay(true);
            let peer = s.peer_addr().ok().map(|a| a.to_string());
            serve_conn(s, ctx, peer).await
        }
    }
}

enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

async fn accept(l: &AnyListener) -> io::Result<Accepted> {
    match l {
        AnyListener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        AnyListener::Tcp(l) => l.accept().await.map(|(s, _)| Accepted::Tcp(s)),
    }
}

/// The running servers. Dropping it aborts everything and unlinks the UNIX sockets;
/// [`Servers::shutdown`] does the same and waits for the tasks to finish.
pub struct Servers {
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    unix: Vec<(PathBuf, (u64, u64))>,
    tcp_addrs: Vec<SocketAddr>,
}

impl BoundServers {
    /// Starts serving every bound socket. Must run inside a Tokio runtime.
    pub fn serve(mut self, backend: Arc<dyn Backend>) -> Result<Servers, ServerError> {
        let options = self.options.clone();
        let (unix, tcp) = self.take_parts();
        let mut spares = std::mem::take(&mut self.spares);
        let (stop, stop_rx) = watch::channel(false);
        let mut servers = Servers {
            tasks: Vec::new(),
            stop,
            unix: Vec::new(),
            tcp_addrs: Vec::new(),
        };
        let inflight = Arc::new(InFlight::default());
        let conns = ConnTable::new(
            options
                .max_connections
                .unwrap_or_else(default_max_connections),
        );
        let ctx = |auth: Option<Auth>,
                   listener: steward_api::access::Listener,
                   base_path: Option<Arc<str>>| {
            let auth = auth.map(Arc::new);
            Arc::new(Ctx {
                base_path,
                backend: backend.clone(),
                api_basic: auth.clone().map(|a| {
                    let check: steward_api::access::BasicCheck =
                        Arc::new(move |header: &[u8]| a.principal(header));
                    check
                }),
                auth,
                options: options.clone(),
                listener,
                inflight: inflight.clone(),
                conns: conns.clone(),
            })
        };
        // From here on `servers` owns the paths (unlinked on drop, also on error below).
        servers.unix = unix.iter().map(|u| (u.path.clone(), u.id)).collect();
        for u in unix {
            let target = u.path.display().to_string();
            u.listener
                .set_nonblocking(true)
                .map_err(|e| ServerError::socket(&target, e))?;
            let l = tokio::net::UnixListener::from_std(u.listener)
                .map_err(|e| ServerError::socket(&target, e))?;
            servers.tasks.push(tokio::spawn(accept_loop(
                AnyListener::Unix(l),
                ctx(u.auth, steward_api::access::Listener::UnixSocket, None),
                stop_rx.clone(),
                spares.pop(),
            )));
        }
        for t in tcp {
            let addr = t
                .listener
                .local_addr()
                .map_err(|e| ServerError::socket("tcp", e))?;
            servers.tcp_addrs.push(addr);
            let target = addr.to_string();
            t.listener
                .set_nonblocking(true)
                .map_err(|e| ServerError::socket(&target, e))?;
            let l = tokio::net::TcpListener::from_std(t.listener)
                .map_err(|e| ServerError::socket(&target, e))?;
            servers.tasks.push(tokio::spawn(accept_loop(
                AnyListener::Tcp(l),
                ctx(
                    t.auth,
                    steward_api::access::Listener::for_tcp_bind(addr.ip()),
                    t.base_path,
                ),
                stop_rx.clone(),
                spares.pop(),
            )));
        }
        Ok(servers)
    }
}

impl Servers {
    /// Actual addresses of the TCP listeners (useful with port 0), in configuration order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp_addrs.clone()
    }

    /// Paths of the UNIX sockets being served.
    pub fn unix_paths(&self) -> Vec<PathBuf> {
        self.unix.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Stops accepting, closes every connection (including followed logs and pending
    /// long-polls), waits for the tasks, and unlinks the UNIX sockets we created.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.unlink();
    }

    fn unlink(&mut self) {
        for (path, id) in std::mem::take(&mut self.unix) {
            unlink_if_ours(&path, id);
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.unlink();
    }
}
