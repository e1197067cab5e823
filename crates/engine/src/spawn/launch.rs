//! The fast way to start a child: a `clone` that shares the daemon's memory and, for a few
//! system calls, its descriptor table, so nothing is copied that exec would throw away,
//! and that does not make the daemon wait for the exec.
//!
//! Why not `posix_spawn` (what `std::process::Command` uses): glibc's child gets a full copy
//! of the daemon's descriptor table, and `execve` then closes every close-on-exec entry of
//! that copy one by one. A daemon with 1,000 programs holds ~5,000 descriptors (pipes and
//! log files), so each spawn paid for thousands of closes while the daemon waited: about a
//! third of the time to start 1,000 programs. No spawning API lets the caller say "give the
//! child only these three descriptors", and none lets the caller go on before the exec.
//!
//! How a launch goes:
//! 1. The parent takes a free *pad*: three reserved low descriptor slots, a private stack,
//!    and an arena. It copies the child's path, argv, envp, directory and failure texts into
//!    the arena and `dup3`s the child's stdin/stdout/stderr into the slots.
//! 2. `clone(CLONE_VM | CLONE_FILES | CLONE_CHILD_CLEARTID)`: the child runs on the pad's
//!    stack in the daemon's memory, sharing its descriptor table, and the parent goes on to
//!    the next spawn at once, so children exec on the other cores meanwhile. (With
//!    `CLONE_VFORK` the daemon slept through the start of every child's exec, ≈ 0.3 ms each:
//!    most of the time to start 1,000 programs.)
//! 3. In the child: default signal dispositions, own process group, umask, then
//!    `close_range(keep_below, ~0, CLOSE_RANGE_UNSHARE)` gives it a private table holding
//!    only the descriptors below its slots plus the slots; it `dup3`s the slots onto 0/1/2,
//!    enters its directory and execs. A failure is written to its fd 2 in supervisord's
//!    words and the child exits 127, as supervisord's forked child does. The shared table
//!    is never modified by the child.
//! 4. When the child has exec'd or exited, the kernel zeroes the pad's `ctid` word and wakes
//!    its futex (`CLONE_CHILD_CLEARTID`). Only then is the pad used again. [`settle`], which
//!    the engine calls before it waits, waits for the children launched since the last call
//!    and puts the placeholders back in their pads' slots, so the daemon keeps no copy of a
//!    child's pipe ends (which would hide the child's end of output from its log reader).
//!
//! The child runs beside the daemon's threads in the same memory, so it touches nothing but
//! its pad and its stack: no allocation, no panic, and no libc wrapper, because those write
//! `errno`, and the child's `errno` is the daemon thread's (it inherits the thread pointer).
//! It makes raw system calls ([`raw`]: inline assembly on x86-64 and aarch64). Elsewhere the
//! launch adds `CLONE_VFORK`, so the daemon is suspended while the child runs and libc's
//! wrappers are safe again. No crate offers errno-free system calls with a stable API for
//! such a child. Kernels before 5.9 lack `CLOSE_RANGE_UNSHARE`; the child then unshares the
//! whole table, which is correct, only as slow as posix_spawn.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the child is to become. Strings must not contain NUL bytes.
pub struct ChildSpec<'a> {
    pub path: &'a [u8],
    pub argv: &'a [String],
    /// `name=value` pairs, in the order the child sees them.
    pub env: &'a [(&'a str, &'a str)],
    pub chdir: Option<&'a [u8]>,
    pub umask: Option<u32>,
    /// Becomes the child's fd 0, 1 and 2.
    pub stdio: [BorrowedFd<'a>; 3],
    /// The signals the child sets back to their default action.
    pub signals: SignalPlan,
    /// What the child writes to its stderr, before the errno name, when exec fails.
    pub exec_failed: &'a str,
    /// The same when it cannot enter `chdir`.
    pub chdir_failed: &'a str,
}

/// The signals a child must set back to their default action before exec: every one the
/// daemon catches or ignores. A handler must not run in a child that shares the daemon's
/// memory, and an ignored signal would stay ignored in the new program.
///
/// Asking the kernel takes one `rt_sigaction` per signal, ~20 µs in all, which would be
/// spent on every spawn. So the engine asks once per pass of its loop and hands the answer
/// to every spawn of that pass. The daemon installs all of its handlers before the engine
/// starts, so the answer does not change under it.
#[derive(Debug, Clone, Copy)]
pub struct SignalPlan {
    /// Bit `n - 1` set: signal `n` needs resetting.
    not_default: u64,
}

impl SignalPlan {
    /// The dispositions as they are now.
    pub fn current() -> SignalPlan {
        let mut not_default = 0u64;
        for sig in resettable_signals() {
            let mut current = KernelSigaction::default();
            // SAFETY: rt_sigaction query with a valid pointer to a kernel-layout struct.
            let queried = unsafe {
                raw::syscall(
                    libc::SYS_rt_sigaction,
                    [sig as usize, 0, std::ptr::addr_of_mut!(current) as usize, 8],
                )
            } == 0;
            if queried && current.handler != libc::SIG_DFL {
                not_default |= 1 << (sig - 1);
            }
        }
        SignalPlan { not_default }
    }
}

/// Every signal whose disposition can be changed.
fn resettable_signals() -> impl Iterator<Item = c_int> {
    (1..=64).filter(|&sig| sig != libc::SIGKILL && sig != libc::SIGSTOP)
}

/// The kernel's `struct sched_attr` (version 1, 56 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    /// For normal (fair) tasks: the requested slice in ns, 0 = the kernel's default.
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

const SCHED_ATTR_SIZE: u32 = std::mem::size_of::<SchedAttr>() as u32;
/// The shortest slice the kernel grants a normal task.
const SHORT_SLICE_NS: u64 = 100_000;

/// The scheduling of the daemon's threads as they were before [`favor_latency`]: what
/// every child gets back before exec.
static CHILD_SCHED: std::sync::OnceLock<SchedAttr> = std::sync::OnceLock::new();

/// Asks the kernel (6.12+, EEVDF) for the shortest time slice on the calling thread, so
/// that when it wakes it runs before CPU-bound tasks finish their slice. The daemon's
/// threads do little work per wake-up, and that work is what children wait for: a spawn,
/// a restart, an answer. Without it, a daemon spawning 1,000 programs waited behind each
/// child it had just exec'd for most of that child's start-up. Children are given the
/// default slice back before exec. Older kernels ignore the request; returns whether the
/// kernel accepted it.
pub fn favor_latency() -> bool {
    let mut attr = SchedAttr::default();
    // SAFETY: sched_getattr/sched_setattr on the calling thread with a buffer of the
    // size passed.
    unsafe {
        if libc::syscall(libc::SYS_sched_getattr, 0, &mut attr, SCHED_ATTR_SIZE, 0u32) != 0
            || attr.policy != libc::SCHED_OTHER as u32
        {
            return false;
        }
        attr.size = SCHED_ATTR_SIZE;
        let _ = CHILD_SCHED.set(SchedAttr { runtime: 0, ..attr });
        let short = SchedAttr {
            runtime: SHORT_SLICE_NS,
            ..attr
        };
        libc::syscall(libc::SYS_sched_setattr, 0, &short, 0u32) == 0
    }
}

/// Gives the calling thread the scheduling it had before [`favor_latency`]: for a
/// daemon thread whose wake-ups should not preempt the children it serves.
pub fn default_scheduling() {
    reset_scheduling();
}

/// Gives the calling (child) thread the daemon's scheduling from before
/// [`favor_latency`]. Raw system call only: safe in a launched child.
pub(super) fn reset_scheduling() {
    if let Some(attr) = CHILD_SCHED.get() {
        // SAFETY: sched_setattr on the calling thread with a valid struct.
        unsafe {
            raw::syscall(
                libc::SYS_sched_setattr,
                [0, attr as *const SchedAttr as usize, 0, 0],
            );
        }
    }
}

/// The kernel's `struct sigaction` (not libc's): what `rt_sigaction` reads and writes.
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Sets every signal to its default disposition. Handlers are the daemon's code (exec would
/// reset them, but a signal could arrive before exec), and ignored signals survive exec
/// (Rust ignores SIGPIPE). Raw rt_sigaction: glibc's wrapper refuses its own internal
/// signals, which a parent may also have left ignored. For use between fork and exec.
pub(super) fn reset_signal_dispositions() {
    reset_planned_signals(SignalPlan::current());
}

/// Sets the signals of `plan` to their default disposition (raw system calls only).
fn reset_planned_signals(plan: SignalPlan) {
    let default = KernelSigaction::default();
    for sig in resettable_signals() {
        if plan.not_default & (1 << (sig - 1)) != 0 {
            // SAFETY: rt_sigaction with a valid pointer to a kernel-layout struct.
            unsafe {
                raw::syscall(
                    libc::SYS_rt_sigaction,
                    [sig as usize, std::ptr::addr_of!(default) as usize, 0, 8],
                );
            }
        }
    }
}

/// Pads reserved at start: enough for the children of a burst that are between clone and
/// exec at once on a few cores. More are made (rarely) if a child is slow to exec.
const INITIAL_PADS: usize = 4;
/// A pad past this many means children that never exec: refuse rather than grow.
const MAX_PADS: usize = 64;
const GUARD: usize = 4096;
const CHILD_STACK: usize = 64 * 1024;
/// The `ctid` word and [`ChildArgs`] sit at the start of the area above the stack.
const HEADER: usize = 256;
const INITIAL_ARENA: usize = 16 * 1024;
/// How long a spawn waits for the oldest child to exec before making another pad, and
/// [`settle`] for the children of its pass.
const EXEC_WAIT: Duration = Duration::from_millis(100);

/// Shared with the child (it lives in the pad): the plan, as pointers into the arena.
#[repr(C)]
struct ChildArgs {
    path: *const u8,
    argv: *const *const u8,
    envp: *const *const u8,
    chdir: *const u8,
    umask: i64,
    slots: [RawFd; 3],
    keep_below: u32,
    signals: SignalPlan,
    exec_failed: *const u8,
    exec_failed_len: usize,
    chdir_failed: *const u8,
    chdir_failed_len: usize,
}

const _: () = assert!(std::mem::size_of::<ChildArgs>() + 8 <= HEADER);

/// One child's launch area: slots, stack, arena.
struct Pad {
    slots: [RawFd; 3],
    /// `[guard page][stack][header][arena]`, from one anonymous mapping.
    region: *mut u8,
    region_len: usize,
    /// A child was launched from this pad and its slots still hold that child's stdio.
    holding: bool,
    /// Launched since the last [`settle`], which waits for it.
    fresh: bool,
    /// Launch order, to wait for the oldest pad first.
    launched: u64,
}

impl Pad {
    fn new(placeholder: &OwnedFd) -> std::io::Result<Pad> {
        let mut slots = [0; 3];
        for slot in &mut slots {
            // SAFETY: fcntl on a descriptor we own; the duplicate is owned by the pad.
            let fd = unsafe { libc::fcntl(placeholder.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            *slot = fd;
        }
        let (region, region_len) = map_region(INITIAL_ARENA)?;
        Ok(Pad {
            slots,
            region,
            region_len,
            holding: false,
            fresh: false,
            launched: 0,
        })
    }

    /// Zeroed by the kernel when the child has exec'd or exited.
    fn ctid(&self) -> &AtomicU32 {
        // SAFETY: the header is inside the mapping, 8-aligned (page + stack), and only
        // ever accessed atomically.
        unsafe { &*(self.region.add(GUARD + CHILD_STACK) as *const AtomicU32) }
    }

    fn in_flight(&self) -> bool {
        self.ctid().load(Ordering::Acquire) != 0
    }

    fn stack_top(&self) -> *mut c_void {
        // SAFETY: one past the stack's end is inside the mapping (the header follows).
        unsafe { self.region.add(GUARD + CHILD_STACK).cast() }
    }

    fn args(&self) -> *mut ChildArgs {
        // SAFETY: inside the header, 8-aligned.
        unsafe { self.region.add(GUARD + CHILD_STACK + 8).cast() }
    }

    fn arena_len(&self) -> usize {
        self.region_len - GUARD - CHILD_STACK - HEADER
    }

    fn arena(&self) -> *mut u8 {
        // SAFETY: inside the mapping.
        unsafe { self.region.add(GUARD + CHILD_STACK + HEADER) }
    }

    /// Room for an arena of `need` bytes (only while no child uses the pad).
    fn ensure_arena(&mut self, need: usize) -> std::io::Result<()> {
        if need <= self.arena_len() {
            return Ok(());
        }
        let (region, len) = map_region(need.next_power_of_two())?;
        // SAFETY: the old mapping is ours and no child runs on it.
        unsafe { libc::munmap(self.region.cast(), self.region_len) };
        self.region = region;
        self.region_len = len;
        Ok(())
    }

    /// One above the highest slot: the child keeps the descriptors below it.
    fn keep_below(&self) -> u32 {
        self.slots.iter().copied().max().unwrap_or(2) as u32 + 1
    }

    /// Puts the placeholder back in the slots, dropping the daemon's copies of the last
    /// child's stdio.
    fn release(&mut self, placeholder: &OwnedFd) {
        for slot in self.slots {
            // SAFETY: both descriptors are owned by the launcher.
            unsafe { libc::dup3(placeholder.as_raw_fd(), slot, libc::O_CLOEXEC) };
        }
        self.holding = false;
    }

    /// Waits until the child has exec'd or exited, up to `deadline`; whether it has.
    fn wait_exec(&self, deadline: Instant) -> bool {
        loop {
            if !self.in_flight() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let timeout = libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            };
            // SAFETY: FUTEX_WAIT on a word of our mapping while it still reads 1. Not the
            // private variant: the kernel's wake at exec is a shared-futex wake.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.ctid().as_ptr(),
                    libc::FUTEX_WAIT,
                    1u32,
                    &timeout as *const libc::timespec,
                );
            }
        }
    }
}

/// `[guard][stack][header][arena of at least arena bytes]`, the guard page inaccessible.
fn map_region(arena: usize) -> std::io::Result<(*mut u8, usize)> {
    let len = (GUARD + CHILD_STACK + HEADER + arena).next_multiple_of(4096);
    // SAFETY: a fresh anonymous mapping owned by the caller.
    unsafe {
        let region = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        );
        if region == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // The stack grows down: a guard page at the bottom turns an overflow into a
        // fault instead of silent corruption of the daemon's memory.
        libc::mprotect(region, GUARD, libc::PROT_NONE);
        Ok((region.cast(), len))
    }
}

/// The placeholder every idle slot holds, and the pads.
struct Launcher {
    placeholder: OwnedFd,
    pads: Vec<Pad>,
    launches: u64,
}

// SAFETY: the pads' raw pointers are only used under the LAUNCHER mutex (and by children,
// which only read their own pad).
unsafe impl Send for Launcher {}

static LAUNCHER: Mutex<Option<Launcher>> = Mutex::new(None);

impl Launcher {
    fn new() -> std::io::Result<Launcher> {
        // SAFETY: plain open; the descriptor is owned right away.
        let placeholder = unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            if null < 0 {
                return Err(std::io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(null)
        };
        let pads = (0..INITIAL_PADS)
            .map(|_| Pad::new(&placeholder))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Launcher {
            placeholder,
            pads,
            launches: 0,
        })
    }

    /// A pad no child is using: a free one, else the oldest once its child has exec'd,
    /// else a new one.
    fn free_pad(&mut self) -> std::io::Result<usize> {
        if let Some(i) = self.pads.iter().position(|p| !p.in_flight()) {
            return Ok(i);
        }
        let oldest = (0..self.pads.len())
            .min_by_key(|&i| self.pads[i].launched)
            .expect("a launcher has pads");
        if self.pads[oldest].wait_exec(Instant::now() + EXEC_WAIT) {
            return Ok(oldest);
        }
        if self.pads.len() >= MAX_PADS {
            return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
        }
        self.pads.push(Pad::new(&self.placeholder)?);
        Ok(self.pads.len() - 1)
    }
}

/// Reserves the pads' slots now, while the daemon's low descriptor numbers are free
/// (later they would land above everything the daemon opened, and each child would copy
/// all of that). Called once at start; `spawn` reserves lazily if it was not.
pub fn reserve() -> std::io::Result<()> {
    let mut launcher = LAUNCHER.lock().unwrap_or_else(|e| e.into_inner());
    if launcher.is_none() {
        *launcher = Some(Launcher::new()?);
    }
    Ok(())
}

/// Bytes of arena `spec` needs: the pointer arrays, then the strings with their NULs.
fn arena_need(spec: &ChildSpec<'_>) -> usize {
    let pointers = (spec.argv.len() + 1 + spec.env.len() + 1) * std::mem::size_of::<usize>();
    let strings = spec.path.len()
        + 1
        + spec.argv.iter().map(|a| a.len() + 1).sum::<usize>()
        + spec
            .env
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
        + spec.chdir.map_or(0, |d| d.len() + 1)
        + spec.exec_failed.len()
        + spec.chdir_failed.len();
    pointers + strings
}

fn has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

/// Writes strings and pointer arrays into a pad's arena, which [`arena_need`] sized.
struct ArenaWriter {
    pointers: *mut *const u8,
    bytes: *mut u8,
}

impl ArenaWriter {
    /// Copies `parts` one after the other, then a NUL if `nul`; returns where it starts.
    ///
    /// # Safety
    /// The arena must have room for them (see [`arena_need`]).
    unsafe fn put(&mut self, parts: &[&[u8]], nul: bool) -> *const u8 {
        let start = self.bytes;
        for part in parts {
            // SAFETY: room guaranteed by the caller; the source is a live slice.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), self.bytes, part.len());
                self.bytes = self.bytes.add(part.len());
            }
        }
        if nul {
            // SAFETY: as above.
            unsafe {
                *self.bytes = 0;
                self.bytes = self.bytes.add(1);
            }
        }
        start
    }

    /// Appends a pointer to the pointer array.
    ///
    /// # Safety
    /// As for [`ArenaWriter::put`].
    unsafe fn point(&mut self, p: *const u8) {
        // SAFETY: room guaranteed by the caller.
        unsafe {
            *self.pointers = p;
            self.pointers = self.pointers.add(1);
        }
    }
}

/// Starts the child; returns its pid once it runs (before it has exec'd: an exec failure
/// shows as the child's exit status 127 and its stderr text). The caller must be the only
/// thread that reaps children by pid -1, must not hold the child's ends of the pipes open
/// afterwards, and must call [`settle`] before it waits for anything.
pub fn spawn(spec: &ChildSpec<'_>) -> std::io::Result<i32> {
    let invalid = || std::io::Error::from_raw_os_error(libc::EINVAL);
    if has_nul(spec.path)
        || spec.argv.iter().any(|a| has_nul(a.as_bytes()))
        || spec
            .env
            .iter()
            .any(|(k, v)| has_nul(k.as_bytes()) || has_nul(v.as_bytes()))
        || spec.chdir.is_some_and(has_nul)
    {
        return Err(invalid());
    }
    let mut guard = LAUNCHER.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(Launcher::new()?);
    }
    let launcher = guard.as_mut().expect("launcher made above");
    let index = launcher.free_pad()?;
    launcher.launches += 1;
    let launch = launcher.launches;
    let pad = &mut launcher.pads[index];
    pad.ensure_arena(arena_need(spec))?;

    // SAFETY: the pad is free (its last child has exec'd or exited), the arena was sized
    // for this spec, and everything written stays untouched until this child's ctid
    // clears. dup3 onto descriptors the launcher owns; clone with the pad's stack; the
    // signal mask is restored on every path.
    unsafe {
        let pointer_bytes =
            (spec.argv.len() + 1 + spec.env.len() + 1) * std::mem::size_of::<usize>();
        let mut w = ArenaWriter {
            pointers: pad.arena().cast(),
            bytes: pad.arena().add(pointer_bytes),
        };
        let argv = w.pointers.cast_const();
        for a in spec.argv {
            let p = w.put(&[a.as_bytes()], true);
            w.point(p);
        }
        w.point(std::ptr::null());
        let envp = w.pointers.cast_const();
        for (k, v) in spec.env {
            let p = w.put(&[k.as_bytes(), b"=", v.as_bytes()], true);
            w.point(p);
        }
        w.point(std::ptr::null());
        let path = w.put(&[spec.path], true);
        let chdir = match spec.chdir {
            Some(d) => w.put(&[d], true),
            None => std::ptr::null(),
        };
        let exec_failed = w.put(&[spec.exec_failed.as_bytes()], false);
        let chdir_failed = w.put(&[spec.chdir_failed.as_bytes()], false);
        pad.args().write(ChildArgs {
            path,
            argv: argv.cast(),
            envp: envp.cast(),
            chdir,
            umask: spec.umask.map_or(-1, i64::from),
            slots: pad.slots,
            keep_below: pad.keep_below(),
            signals: spec.signals,
            exec_failed,
            exec_failed_len: spec.exec_failed.len(),
            chdir_failed,
            chdir_failed_len: spec.chdir_failed.len(),
        });

        for (slot, fd) in pad.slots.iter().zip(spec.stdio.iter()) {
            if libc::dup3(fd.as_raw_fd(), *slot, libc::O_CLOEXEC) < 0 {
                let e = std::io::Error::last_os_error();
                pad.release(&launcher.placeholder);
                return Err(e);
            }
        }
        pad.holding = true;
        // The child shares our memory: no signal handler may run in it before it has
        // reset the dispositions, so it starts with every signal blocked.
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        pad.ctid().store(1, Ordering::Release);
        let pid = libc::clone(
            child_main,
            pad.stack_top(),
            CLONE_FLAGS,
            pad.args().cast(),
            std::ptr::null_mut::<libc::pid_t>(),
            std::ptr::null_mut::<c_void>(),
            pad.ctid().as_ptr().cast::<libc::pid_t>(),
        );
        let clone_error = (pid < 0).then(std::io::Error::last_os_error);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if let Some(e) = clone_error {
            pad.ctid().store(0, Ordering::Release);
            pad.release(&launcher.placeholder);
            return Err(e);
        }
        pad.fresh = true;
        pad.launched = launch;
        Ok(pid)
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const CLONE_FLAGS: c_int =
    libc::CLONE_VM | libc::CLONE_FILES | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD;
/// Without errno-free system calls the child must not run beside the daemon.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const CLONE_FLAGS: c_int = libc::CLONE_VM
    | libc::CLONE_VFORK
    | libc::CLONE_FILES
    | libc::CLONE_CHILD_CLEARTID
    | libc::SIGCHLD;

/// Waits (briefly) for the children launched since the last call to exec, and drops the
/// daemon's copies of the stdio of every child that has. The engine calls it before it
/// waits for anything, so no pipe end stays open in a slot while the loop sleeps.
pub fn settle() {
    let mut guard = LAUNCHER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(launcher) = guard.as_mut() else {
        return;
    };
    let deadline = Instant::now() + EXEC_WAIT;
    let placeholder = &launcher.placeholder;
    for pad in &mut launcher.pads {
        if !pad.holding {
            continue;
        }
        // A child that has not exec'd by the deadline (stopped, or starved of CPU) keeps
        // its pad; a later pass looks again without waiting.
        let done = if pad.fresh {
            pad.wait_exec(deadline)
        } else {
            !pad.in_flight()
        };
        pad.fresh = false;
        if done {
            pad.release(placeholder);
        }
    }
}

/// The child, between clone and exec: raw system calls only, on its pad.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` points at this child's ChildArgs, which the parent leaves alone until
    // the child has exec'd or exited; everything below is a raw system call.
    unsafe {
        let a = &*(arg as *const ChildArgs);
        reset_planned_signals(a.signals);
        reset_scheduling();
        raw::syscall(libc::SYS_setpgid, [0, 0, 0, 0]);
        if a.umask >= 0 {
            raw::syscall(libc::SYS_umask, [a.umask as usize, 0, 0, 0]);
        }
        let unshared = raw::syscall(
            libc::SYS_close_range,
            [
                a.keep_below as usize,
                u32::MAX as usize,
                libc::CLOSE_RANGE_UNSHARE as usize,
                0,
            ],
        );
        if unshared < 0 {
            let r = raw::syscall(libc::SYS_unshare, [libc::CLONE_FILES as usize, 0, 0, 0]);
            if r < 0 {
                fail(a.exec_failed, a.exec_failed_len, r)
            }
        }
        for (target, slot) in a.slots.iter().enumerate() {
            let r = raw::syscall(libc::SYS_dup3, [*slot as usize, target, 0, 0]);
            if r < 0 {
                fail(a.exec_failed, a.exec_failed_len, r)
            }
        }
        if !a.chdir.is_null() {
            let r = raw::syscall(libc::SYS_chdir, [a.chdir as usize, 0, 0, 0]);
            if r < 0 {
                fail(a.chdir_failed, a.chdir_failed_len, r)
            }
        }
        let none = 0u64;
        raw::syscall(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as usize,
                std::ptr::addr_of!(none) as usize,
                0,
                8,
            ],
        );
        let r = raw::syscall(
            libc::SYS_execve,
            [a.path as usize, a.argv as usize, a.envp as usize, 0],
        );
        fail(a.exec_failed, a.exec_failed_len, r)
    }
}

/// Writes `prefix`, the errno's name and supervisord's closing line to fd 2, and exits 127.
///
/// # Safety
/// `prefix` must point at `len` readable bytes.
unsafe fn fail(prefix: *const u8, len: usize, ret: isize) -> ! {
    let errno = ret.unsigned_abs() as u32;
    let mut digits = [0u8; 10];
    let name: &[u8] = match crate::text::errno_symbol(errno as i32) {
        Some(name) => name.as_bytes(),
        None => {
            let mut at = digits.len();
            let mut n = errno;
            loop {
                at -= 1;
                if let Some(d) = digits.get_mut(at) {
                    *d = b'0' + (n % 10) as u8;
                }
                n /= 10;
                if n == 0 || at == 0 {
                    break;
                }
            }
            digits.get(at..).unwrap_or(&[])
        }
    };
    let tail = b"\nsupervisor: child process was not spawned\n";
    // SAFETY: writes of live buffers, then exit_group: raw system calls only.
    unsafe {
        raw::syscall(libc::SYS_write, [2, prefix as usize, len, 0]);
        raw::syscall(libc::SYS_write, [2, name.as_ptr() as usize, name.len(), 0]);
        raw::syscall(libc::SYS_write, [2, tail.as_ptr() as usize, tail.len(), 0]);
        raw::syscall(libc::SYS_exit_group, [127, 0, 0, 0]);
    }
    // exit_group does not return.
    #[allow(clippy::empty_loop)]
    loop {}
}

pub(super) mod raw {
    //! System calls that return `-errno` instead of setting `errno`: the only kind a child
    //! that shares the daemon's memory (and thread pointer) may make.

    /// System call `n` with up to four arguments; negative results are `-errno`.
    ///
    /// # Safety
    /// As for the system call itself.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub unsafe fn syscall(n: libc::c_long, args: [usize; 4]) -> isize {
        let ret: isize;
        // SAFETY: the x86-64 Linux system call convention; rcx and r11 are clobbered.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") n as isize => ret,
                in("rdi") args[0],
                in("rsi") args[1],
                in("rdx") args[2],
                in("r10") args[3],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// System call `n` with up to four arguments; negative results are `-errno`.
    ///
    /// # Safety
    /// As for the system call itself.
    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    pub unsafe fn syscall(n: libc::c_long, args: [usize; 4]) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 Linux system call convention.
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") n,
                inlateout("x0") args[0] as isize => ret,
                in("x1") args[1],
                in("x2") args[2],
                in("x3") args[3],
                options(nostack),
            );
        }
        ret
    }

    /// libc's wrapper (the launch then uses CLONE_VFORK, see the module doc).
    ///
    /// # Safety
    /// As for the system call itself.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn syscall(n: libc::c_long, args: [usize; 4]) -> isize {
        // SAFETY: as the caller promises.
        let r = unsafe { libc::syscall(n, args[0], args[1], args[2], args[3]) };
        if r < 0 {
            -(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL) as isize)
        } else {
            r as isize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SignalPlan;

    fn planned(plan: SignalPlan, sig: i32) -> bool {
        plan.not_default & (1 << (sig - 1)) != 0
    }

    #[test]
    fn the_plan_holds_ignored_signals_and_leaves_default_ones() {
        // Rust's runtime ignores SIGPIPE in every binary, test harnesses included.
        let plan = SignalPlan::current();
        assert!(planned(plan, libc::SIGPIPE));
        assert!(!planned(plan, libc::SIGUSR1));
        assert!(!planned(plan, libc::SIGKILL));
    }

    #[test]
    fn the_raw_call_returns_minus_errno_and_leaves_errno_alone() {
        // SAFETY: close of a descriptor that cannot be open; errno is set to a marker first.
        unsafe {
            *libc::__errno_location() = 12345;
            let r = super::raw::syscall(libc::SYS_close, [1 << 30, 0, 0, 0]);
            assert_eq!(r, -(libc::EBADF as isize));
            assert_eq!(*libc::__errno_location(), 12345);
        }
    }
}
