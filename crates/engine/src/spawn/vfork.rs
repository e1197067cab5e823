//! The fast way to start a child: a vfork-style `clone` whose child shares the daemon's
//! descriptor table only long enough to take a private copy of its lowest few slots.
//!
//! Why not `posix_spawn` (what `std::process::Command` uses): glibc's child gets a full copy
//! of the daemon's descriptor table, and `execve` then closes every close-on-exec entry of
//! that copy one by one. A daemon with 1,000 programs holds ~5,000 descriptors (pipes and
//! log files), so each spawn paid for thousands of closes while the daemon waited: about a
//! third of the time to start 1,000 programs. No spawning API lets the caller say "give the
//! child only these three descriptors", so this module does what glibc's `posix_spawn`
//! does, with one difference:
//!
//! 1. The parent stages the child's stdin/stdout/stderr in three reserved low descriptor
//!    slots (`dup3` over placeholders that keep those numbers taken for good).
//! 2. `clone(CLONE_VM | CLONE_VFORK | CLONE_FILES)`: the child runs on a small private stack
//!    in the daemon's memory, sharing its descriptor table; the calling thread sleeps until
//!    the child has exec'd or exited.
//! 3. In the child: default signal dispositions, own process group, umask, chdir, then
//!    `close_range(first_unreserved, ~0, CLOSE_RANGE_UNSHARE)` gives it a private table
//!    holding only the descriptors below the slots plus the slots themselves, it `dup2`s
//!    the slots onto 0/1/2 and execs. The shared table is never modified by the child.
//! 4. The parent puts the placeholders back. A chdir or exec failure is reported through
//!    memory the child shares, and the exited child is reaped on the spot.
//!
//! Only async-signal-safe system calls run in the child, on data prepared by the parent.
//! Kernels before 5.9 lack `CLOSE_RANGE_UNSHARE`; the child then unshares the whole table,
//! which is correct, only as slow as before.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// What the child is to become. `argv` and `envp` are NULL-terminated arrays of pointers
/// into C strings that outlive the call.
pub struct ChildSpec<'a> {
    pub path: &'a CStr,
    pub argv: &'a [*const c_char],
    pub envp: &'a [*const c_char],
    pub chdir: Option<&'a CStr>,
    pub umask: Option<u32>,
    /// Becomes the child's fd 0, 1 and 2.
    pub stdio: [BorrowedFd<'a>; 3],
    /// The signals the child sets back to their default action.
    pub signals: SignalPlan,
}

/// The signals a child must set back to their default action before exec: every one the
/// daemon catches or ignores. A handler must not run in a child that shares the daemon's
/// memory, and an ignored signal would stay ignored in the new program.
///
/// Asking the kernel takes one `rt_sigaction` per signal, ~20 µs in all, which the parent
/// of a vfork-style child spends waiting. So the engine asks once per pass of its loop and
/// hands the answer to every spawn of that pass. The daemon installs all of its handlers
/// before the engine starts, so the answer does not change under it.
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
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    std::ptr::null::<KernelSigaction>(),
                    &mut current,
                    8usize,
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

/// Why no child is running.
#[derive(Debug)]
pub enum Failure {
    /// `clone` itself failed (EAGAIN: too many processes).
    Clone(std::io::Error),
    /// The child could not enter its directory (errno); it has been reaped.
    Chdir(i32),
    /// `execve` failed (errno); the child has been reaped.
    Exec(i32),
}

const STAGE_CHDIR: i32 = 1;
const STAGE_EXEC: i32 = 2;
const CHILD_STACK: usize = 64 * 1024;

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
/// [`favor_latency`] (async-signal-safe).
pub(super) fn reset_scheduling() {
    if let Some(attr) = CHILD_SCHED.get() {
        // SAFETY: sched_setattr on the calling thread with a valid struct.
        unsafe {
            libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0u32);
        }
    }
}

/// The reserved slots, their placeholder, and the child stack; one spawn at a time.
struct Staging {
    slots: [RawFd; 3],
    placeholder: OwnedFd,
    stack: *mut c_void,
    stack_len: usize,
}

// SAFETY: the stack pointer is only used under the STAGING mutex.
unsafe impl Send for Staging {}

static STAGING: Mutex<Option<Staging>> = Mutex::new(None);

impl Staging {
    fn new() -> std::io::Result<Staging> {
        // SAFETY: plain syscalls; every returned descriptor is owned right away.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            if null < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let placeholder = OwnedFd::from_raw_fd(null);
            let mut slots = [0; 3];
            for slot in &mut slots {
                let fd = libc::fcntl(null, libc::F_DUPFD_CLOEXEC, 3);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                *slot = fd;
            }
            let guard = 4096;
            let len = CHILD_STACK + guard;
            let stack = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if stack == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            // The stack grows down: a guard page at the bottom turns an overflow into a
            // fault instead of silent corruption of the daemon's memory.
            libc::mprotect(stack, guard, libc::PROT_NONE);
            Ok(Staging {
                slots,
                placeholder,
                stack,
                stack_len: len,
            })
        }
    }

    /// One above the highest slot: the child keeps the descriptors below it.
    fn keep_below(&self) -> u32 {
        self.slots.iter().copied().max().unwrap_or(2) as u32 + 1
    }
}

/// Reserves the staging slots now, while the daemon's low descriptor numbers are free
/// (later they would land above everything the daemon opened, and each child would copy
/// all of that). Called once at start; `spawn` reserves lazily if it was not.
pub fn reserve() -> std::io::Result<()> {
    let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
    if staging.is_none() {
        *staging = Some(Staging::new()?);
    }
    Ok(())
}

/// Shared between parent and child (CLONE_VM): the plan, and where the child failed.
#[repr(C)]
struct ChildArgs {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    chdir: *const c_char,
    umask: i64,
    slots: [RawFd; 3],
    keep_below: u32,
    signals: SignalPlan,
    stage: AtomicI32,
    errno: AtomicI32,
}

/// Starts the child; returns its pid. The caller must be the only thread that reaps
/// children by pid -1, and must not hold the child's ends of the pipes open afterwards.
pub fn spawn(spec: &ChildSpec<'_>) -> Result<i32, Failure> {
    debug_assert!(spec.argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(spec.envp.last().is_some_and(|p| p.is_null()));
    let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
    if staging.is_none() {
        *staging = Some(Staging::new().map_err(Failure::Clone)?);
    }
    let st = staging.as_ref().expect("staging reserved above");
    let args = ChildArgs {
        path: spec.path.as_ptr(),
        argv: spec.argv.as_ptr(),
        envp: spec.envp.as_ptr(),
        chdir: spec.chdir.map_or(std::ptr::null(), CStr::as_ptr),
        umask: spec.umask.map_or(-1, i64::from),
        slots: st.slots,
        keep_below: st.keep_below(),
        signals: spec.signals,
        stage: AtomicI32::new(0),
        errno: AtomicI32::new(0),
    };
    // SAFETY: dup3 onto descriptors this module owns; clone with a stack we own and args
    // that live until the vfork-style clone returns (the child has exec'd or exited by
    // then); the signal mask is restored on every path.
    unsafe {
        for (slot, fd) in st.slots.iter().zip(spec.stdio.iter()) {
            if libc::dup3(fd.as_raw_fd(), *slot, libc::O_CLOEXEC) < 0 {
                let e = std::io::Error::last_os_error();
                restore_slots(st);
                return Err(Failure::Clone(e));
            }
        }
        // The child shares our memory: no signal handler may run in it before it has
        // reset the dispositions, so it starts with every signal blocked.
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let stack_top = (st.stack as *mut u8).add(st.stack_len).cast::<c_void>();
        let pid = libc::clone(
            child_main,
            stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_FILES | libc::SIGCHLD,
            std::ptr::addr_of!(args) as *mut c_void,
        );
        let clone_error = (pid < 0).then(std::io::Error::last_os_error);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        restore_slots(st);
        if let Some(e) = clone_error {
            return Err(Failure::Clone(e));
        }
        let stage = args.stage.load(Ordering::Acquire);
        if stage != 0 {
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            let errno = args.errno.load(Ordering::Acquire);
            return Err(if stage == STAGE_CHDIR {
                Failure::Chdir(errno)
            } else {
                Failure::Exec(errno)
            });
        }
        Ok(pid)
    }
}

/// Puts the placeholders back so the staged pipe ends are not held open by the daemon.
unsafe fn restore_slots(st: &Staging) {
    for slot in st.slots {
        // SAFETY: both descriptors are owned by the staging area.
        unsafe {
            libc::dup3(st.placeholder.as_raw_fd(), slot, libc::O_CLOEXEC);
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
/// signals, which a parent may also have left ignored. Async-signal-safe: for use between
/// fork/clone and exec.
pub(super) fn reset_signal_dispositions() {
    reset_planned_signals(SignalPlan::current());
}

/// Sets the signals of `plan` to their default disposition (async-signal-safe).
fn reset_planned_signals(plan: SignalPlan) {
    let default = KernelSigaction::default();
    for sig in resettable_signals() {
        if plan.not_default & (1 << (sig - 1)) != 0 {
            // SAFETY: rt_sigaction with a valid pointer to a kernel-layout struct.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &default,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                );
            }
        }
    }
}

/// The child, between clone and exec: raw system calls only.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` points at the parent's ChildArgs, alive while the parent is suspended;
    // everything below is an async-signal-safe syscall wrapper.
    unsafe {
        let a = &*(arg as *const ChildArgs);
        reset_planned_signals(a.signals);
        reset_scheduling();
        libc::setpgid(0, 0);
        if a.umask >= 0 {
            libc::umask(a.umask as libc::mode_t);
        }
        if !a.chdir.is_null() && libc::chdir(a.chdir) != 0 {
            fail(a, STAGE_CHDIR);
        }
        let unshared = libc::syscall(
            libc::SYS_close_range,
            a.keep_below,
            u32::MAX,
            libc::CLOSE_RANGE_UNSHARE,
        ) == 0;
        if !unshared && libc::unshare(libc::CLONE_FILES) != 0 {
            fail(a, STAGE_EXEC);
        }
        for (target, slot) in a.slots.iter().enumerate() {
            if libc::dup2(*slot, target as c_int) < 0 {
                fail(a, STAGE_EXEC);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::execve(a.path, a.argv, a.envp);
        fail(a, STAGE_EXEC)
    }
}

unsafe fn fail(a: &ChildArgs, stage: i32) -> ! {
    // SAFETY: errno location of this (shared) thread; _exit is async-signal-safe.
    unsafe {
        a.errno.store(*libc::__errno_location(), Ordering::Release);
        a.stage.store(stage, Ordering::Release);
        libc::_exit(127)
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
}
