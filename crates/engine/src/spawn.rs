//! Turning a [`ProcessConfig`] into a running child, the way supervisord's
//! `Subprocess.spawn` does: resolve the command on PATH and check it (the checks that give
//! `can't find command 'x'` and friends), create the stdin/stdout/stderr pipes, fork, and in
//! the child: own process group, drop privileges, chdir, umask, exec.
//!
//! Children start through [`launch`], a clone that hands the child only its three
//! descriptors and does not wait for its exec (see there for why that beats posix_spawn). Only `user=` takes the slow road:
//! `std::process::Command` with a `pre_exec` hook (a real fork), because dropping
//! privileges must not happen in a child that shares the daemon's memory. Not
//! `tokio::process` in either case: the engine's single reaper owns every `waitpid`.
//! Everything a child does before exec is async-signal-safe, on data prepared in the
//! parent; failures reach the stderr log as supervisord's child would write them.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

pub use fcgi::bind_fcgi_socket;
pub use launch::{default_scheduling, favor_latency, settle, SignalPlan};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use steward_config::ProcessConfig;

use crate::text::{errno_name, py_repr};

/// Why a command can't be run, found before forking. The text is supervisord's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `can't find command 'x'` (XML-RPC NO_FILE).
    #[error("{0}")]
    NotFound(String),
    /// A directory, not executable, no permission, unparseable or empty (NOT_EXECUTABLE).
    #[error("{0}")]
    NotExecutable(String),
}

/// The program file and argv of a command, after PATH lookup and checks.
#[derive(Debug, Clone)]
pub struct ResolvedCommand {
    pub filename: PathBuf,
    pub argv: Vec<String>,
}

/// supervisord's `get_execv_args` + `check_execv_args`.
pub fn resolve_command(cfg: &ProcessConfig) -> Result<ResolvedCommand, CommandError> {
    let argv = steward_config::split_command(&cfg.command).map_err(|e| {
        CommandError::NotExecutable(format!(
            "can't parse command {}: {e}",
            py_repr(&cfg.command)
        ))
    })?;
    let Some(program) = argv.first() else {
        return Err(CommandError::NotExecutable("command is empty".into()));
    };
    let (filename, meta) = if program.contains('/') {
        let path = PathBuf::from(program);
        let meta = std::fs::metadata(&path).ok();
        (path, meta)
    } else {
        let path_var = cfg
            .environment
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_else(|| "/bin:/usr/bin:/usr/local/bin".to_string());
        let mut found = None;
        for dir in path_var.split(':') {
            let candidate = Path::new(dir).join(program);
            if let Ok(meta) = std::fs::metadata(&candidate) {
                found = Some((candidate, meta));
                break;
            }
        }
        match found {
            Some((p, m)) => (p, Some(m)),
            None => (PathBuf::from(program), None),
        }
    };
    let shown = py_repr(&filename.to_string_lossy());
    let Some(meta) = meta else {
        return Err(CommandError::NotFound(format!(
            "can't find command {shown}"
        )));
    };
    if meta.is_dir() {
        return Err(CommandError::NotExecutable(format!(
            "command at {shown} is a directory"
        )));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(CommandError::NotExecutable(format!(
            "command at {shown} is not executable"
        )));
    }
    if nix::unistd::access(&filename, nix::unistd::AccessFlags::X_OK).is_err() {
        return Err(CommandError::NotExecutable(format!(
            "no permission to run command {shown}"
        )));
    }
    Ok(ResolvedCommand { filename, argv })
}

/// What the child must do about `user=`, decided in the parent.
#[derive(Debug, Clone)]
enum Privileges {
    Keep,
    Drop {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
    },
    /// The child reports this message and exits 127 (supervisord's behaviour when
    /// `drop_privileges` fails, e.g. as a non-root daemon).
    Fail(CString),
}

fn plan_privileges(cfg: &ProcessConfig) -> Privileges {
    let Some(user) = &cfg.user else {
        return Privileges::Keep;
    };
    let record = match user.parse::<u32>() {
        Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .ok_or_else(|| format!("Can't find uid {uid}")),
        Err(_) => nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("Can't find username {}", py_repr(user))),
    };
    let uid_shown = cfg
        .uid
        .map(|u| u.to_string())
        .unwrap_or_else(|| user.clone());
    let fail = |msg: String| {
        Privileges::Fail(
            CString::new(format!(
                "supervisor: couldn't setuid to {uid_shown}: {msg}\nsupervisor: child process was not spawned\n"
            ))
            .unwrap_or_default(),
        )
    };
    let record = match record {
        Ok(r) => r,
        Err(msg) => return fail(msg),
    };
    let current = nix::unistd::getuid().as_raw();
    if current == record.uid.as_raw() {
        return Privileges::Keep;
    }
    if current != 0 {
        return fail("Can't drop privilege as nonroot user".into());
    }
    let gid = record.gid.as_raw();
    let mut groups = vec![gid];
    if let Ok(name) = CString::new(record.name.clone()) {
        if let Ok(list) = nix::unistd::getgrouplist(&name, record.gid) {
            groups.extend(list.into_iter().map(|g| g.as_raw()).filter(|g| *g != gid));
        }
    }
    Privileges::Drop {
        uid: record.uid.as_raw(),
        gid,
        groups,
    }
}

/// The parent's ends of a spawned child's pipes.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
}

/// Everything besides the process config that shapes the child.
pub struct SpawnContext<'a> {
    pub group: &'a str,
    /// The daemon's environment at start.
    pub base_env: &'a BaseEnv,
    /// `[supervisord] environment`.
    pub global_env: &'a [(String, String)],
    /// `SUPERVISOR_SERVER_URL` when the program has no `serverurl` of its own.
    pub serverurl: Option<&'a str>,
    /// `[fcgi-program:x]`: the listening socket that becomes the child's fd 0 (there is
    /// no stdin pipe then).
    pub stdin_socket: Option<std::os::fd::BorrowedFd<'a>>,
    /// The daemon's caught and ignored signals, which the child resets.
    pub signals: SignalPlan,
    /// Set last, over everything else (`NOTIFY_SOCKET` of `sd_notify`).
    pub extra_env: &'a [(String, String)],
}

/// Why a spawn failed after the command checks (fork or pipe errors, or exec failure).
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The reference's spawnerr text (`too many open files to spawn 'x'`…).
    #[error("{0}")]
    Spawnerr(String),
    /// exec itself failed; the child was reaped by std. The caller emulates supervisord's
    /// exit 127 with `message` written to the stderr log.
    #[error("exec failed: {message}")]
    ExecFailed { message: String },
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

/// Forks and execs the child. Must be called from the engine loop, which owns reaping.
pub fn spawn(
    cfg: &ProcessConfig,
    resolved: &ResolvedCommand,
    ctx: &SpawnContext<'_>,
) -> Result<Spawned, SpawnError> {
    let name = &cfg.name;
    let pipe_err = |e: std::io::Error| {
        let code = e.raw_os_error().unwrap_or(0);
        SpawnError::Spawnerr(if code == libc::EMFILE {
            format!("too many open files to spawn {}", py_repr(name))
        } else {
            format!(
                "unknown error making dispatchers for {}: {}",
                py_repr(name),
                errno_name(code)
            )
        })
    };
    let (stdin_r, stdin_w) = match ctx.stdin_socket {
        Some(sock) => (sock.try_clone_to_owned().map_err(pipe_err)?, None),
        None => {
            let (r, w) = pipe().map_err(pipe_err)?;
            (r, Some(w))
        }
    };
    let (stdout_r, stdout_w) = pipe().map_err(pipe_err)?;
    let (stderr_r, stderr_w) = if cfg.redirect_stderr {
        (None, None)
    } else {
        let (r, w) = pipe().map_err(pipe_err)?;
        (Some(r), Some(w))
    };

    let env = child_environment(cfg, ctx);
    let privileges = plan_privileges(cfg);
    if matches!(privileges, Privileges::Keep) {
        let stderr_fd = stderr_w.as_ref().unwrap_or(&stdout_w);
        let spawned = spawn_fast(
            cfg,
            resolved,
            &env,
            [stdin_r.as_fd(), stdout_w.as_fd(), stderr_fd.as_fd()],
            ctx.signals,
        );
        return spawned.map(|pid| Spawned {
            pid,
            stdin: stdin_w,
            stdout: stdout_r,
            stderr: stderr_r,
        });
    }

    // user= needs setgroups/setgid/setuid between fork and exec, which glibc's wrappers
    // must not do in a child sharing our memory: fork with std's Command instead.
    let mut command = Command::new(&resolved.filename);
    command.arg0(&resolved.argv[0]).args(&resolved.argv[1..]);
    command.env_clear();
    command.envs(env.iter().copied());
    let stdout_dup = stdout_w.try_clone().map_err(pipe_err)?;
    command.stdin(Stdio::from(stdin_r));
    command.stdout(Stdio::from(stdout_w));
    command.stderr(match stderr_w {
        Some(w) => Stdio::from(w),
        None => Stdio::from(stdout_dup),
    });
    command.process_group(0);
    let chdir = cfg.directory.as_ref().map(|d| {
        let c = CString::new(d.as_os_str().as_encoded_bytes()).unwrap_or_default();
        let prefix = format!("supervisor: couldn't chdir to {}: ", d.display());
        (c, prefix)
    });
    let umask = cfg.umask;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls on data prepared in the parent.
    unsafe {
        command.pre_exec(move || {
            child_setup(&privileges, chdir.as_ref(), umask);
            Ok(())
        });
    }
    match command.spawn() {
        Ok(child) => Ok(Spawned {
            pid: child.id() as i32,
            stdin: stdin_w,
            stdout: stdout_r,
            stderr: stderr_r,
        }),
        Err(e) => Err(spawn_failure(cfg, resolved, e.raw_os_error().unwrap_or(0))),
    }
}

/// The daemon's environment as every child starts from it: sorted by name, one entry per
/// name, so each spawn only merges its few own variables into it.
#[derive(Debug, Clone, Default)]
pub struct BaseEnv(Vec<(String, String)>);

impl BaseEnv {
    /// Later entries win, as when the variables are applied in order.
    pub fn new(mut vars: Vec<(String, String)>) -> BaseEnv {
        vars.reverse();
        // Stable: of equal names, the one given last is now first and survives dedup.
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.dedup_by(|later, first| later.0 == first.0);
        BaseEnv(vars)
    }

    /// This environment with `overlay` applied in order (a later entry of the same name
    /// wins), sorted by name.
    fn overlaid<'a>(&'a self, mut overlay: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
        // Stable, so among equal names the last given stays last: keep that one.
        overlay.sort_by(|a, b| a.0.cmp(b.0));
        let mut env = Vec::with_capacity(self.0.len() + overlay.len());
        let mut base = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .peekable();
        for (i, &(key, value)) in overlay.iter().enumerate() {
            if overlay.get(i + 1).is_some_and(|next| next.0 == key) {
                continue;
            }
            while let Some(&(base_key, base_value)) = base.peek() {
                if base_key > key {
                    break;
                }
                if base_key < key {
                    env.push((base_key, base_value));
                }
                base.next();
            }
            env.push((key, value));
        }
        env.extend(base);
        env
    }
}

/// The child's environment, supervisord's way: the daemon's own, the SUPERVISOR_*
/// variables, `[supervisord] environment`, then the program's (later entries win).
/// Sorted by name, as std's Command passes it.
fn child_environment<'a>(
    cfg: &'a ProcessConfig,
    ctx: &'a SpawnContext<'_>,
) -> Vec<(&'a str, &'a str)> {
    let mut overlay: Vec<(&str, &str)> =
        Vec::with_capacity(4 + ctx.global_env.len() + cfg.environment.len());
    overlay.push(("SUPERVISOR_ENABLED", "1"));
    if let Some(url) = cfg.serverurl.as_deref().or(ctx.serverurl) {
        overlay.push(("SUPERVISOR_SERVER_URL", url));
    }
    overlay.push(("SUPERVISOR_PROCESS_NAME", &cfg.name));
    overlay.push(("SUPERVISOR_GROUP_NAME", ctx.group));
    for (k, v) in ctx
        .global_env
        .iter()
        .chain(cfg.environment.iter())
        .chain(ctx.extra_env.iter())
    {
        overlay.push((k, v));
    }
    ctx.base_env.overlaid(overlay)
}

/// Spawns through [`launch`] (see there for why not posix_spawn).
fn spawn_fast(
    cfg: &ProcessConfig,
    resolved: &ResolvedCommand,
    env: &[(&str, &str)],
    stdio: [std::os::fd::BorrowedFd<'_>; 3],
    signals: SignalPlan,
) -> Result<i32, SpawnError> {
    let exec_failed = format!("supervisor: couldn't exec {}: ", resolved.argv[0]);
    let chdir_failed = cfg
        .directory
        .as_deref()
        .map(|d| format!("supervisor: couldn't chdir to {}: ", d.display()))
        .unwrap_or_default();
    let spec = launch::ChildSpec {
        path: resolved.filename.as_os_str().as_encoded_bytes(),
        argv: &resolved.argv,
        env,
        chdir: cfg
            .directory
            .as_deref()
            .map(|d| d.as_os_str().as_encoded_bytes()),
        umask: cfg.umask,
        stdio,
        signals,
        exec_failed: &exec_failed,
        chdir_failed: &chdir_failed,
    };
    launch::spawn(&spec)
        .map_err(|e| spawn_failure(cfg, resolved, e.raw_os_error().unwrap_or(libc::EINVAL)))
}

/// The error for a failed fork/clone (EAGAIN) or exec, in supervisord's words.
fn spawn_failure(cfg: &ProcessConfig, resolved: &ResolvedCommand, errno: i32) -> SpawnError {
    if errno == libc::EAGAIN {
        SpawnError::Spawnerr(format!(
            "Too many processes in process table to spawn {}",
            py_repr(&cfg.name)
        ))
    } else {
        SpawnError::ExecFailed {
            message: format!(
                "supervisor: couldn't exec {}: {}\nsupervisor: child process was not spawned\n",
                resolved.argv[0],
                errno_name(errno)
            ),
        }
    }
}

/// Makes the daemon process safe to spawn children from: every descriptor it inherited
/// above stderr becomes close-on-exec, and the low descriptor slots the fast spawner stages
/// a child's stdio in are reserved while they are still free. Call once, early.
pub fn prepare_daemon_process() {
    mark_descriptors_above_stderr_cloexec();
    // Without the reservation, spawning still works: the slots are taken on first use.
    let _ = launch::reserve();
}

/// Marks every descriptor above stderr close-on-exec (async-signal-safe).
fn mark_descriptors_above_stderr_cloexec() {
    // SAFETY: a plain syscall on our own descriptor table.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// Runs in the child between fork and exec.
fn child_setup(privileges: &Privileges, chdir: Option<&(CString, String)>, umask: Option<u32>) {
    // Every inherited descriptor above stderr is closed at exec (std's error pipe must
    // survive until then, so mark rather than close).
    mark_descriptors_above_stderr_cloexec();
    // Before dropping privileges, which could forbid it.
    launch::reset_scheduling();
    // SAFETY: plain syscalls in the child.
    unsafe {
        match privileges {
            Privileges::Keep => {}
            Privileges::Fail(msg) => die(msg.as_bytes()),
            Privileges::Drop { uid, gid, groups } => {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                    die(b"supervisor: couldn't setuid to user: Could not set groups of effective user\nsupervisor: child process was not spawned\n");
                }
                if libc::setgid(*gid) != 0 {
                    die(b"supervisor: couldn't setuid to user: Could not set group id of effective user\nsupervisor: child process was not spawned\n");
                }
                if libc::setuid(*uid) != 0 {
                    die(b"supervisor: couldn't setuid to user: setuid failed\nsupervisor: child process was not spawned\n");
                }
            }
        }
        if let Some((dir, prefix)) = chdir {
            if libc::chdir(dir.as_ptr()) != 0 {
                let errno = *libc::__errno_location();
                write_all(prefix.as_bytes());
                write_all(
                    crate::text::errno_symbol(errno)
                        .unwrap_or("EUNKNOWN")
                        .as_bytes(),
                );
                die(b"\nsupervisor: child process was not spawned\n");
            }
        }
        if let Some(mask) = umask {
            libc::umask(mask as libc::mode_t);
        }
        launch::reset_signal_dispositions();
    }
}

fn write_all(bytes: &[u8]) {
    // SAFETY: write(2) on fd 2 with a valid buffer.
    unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    }
}

fn die(msg: &[u8]) -> ! {
    write_all(msg);
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(127) }
}

/// Sets `O_NONBLOCK` on a descriptor the engine reads or writes asynchronously.
pub fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFL);
        if flags < 0 || libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

mod launch;

mod fcgi {
    //! The listening socket of an `[fcgi-program:x]` group, created by the daemon before
    //! the first spawn and handed to every child as fd 0 (supervisord's socket manager).

    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::fs::PermissionsExt;

    /// Binds `tcp://host:port` or `unix:///path`. Errors use supervisord's wording.
    pub fn bind_fcgi_socket(
        url: &str,
        backlog: Option<u32>,
        mode: u32,
        owner: Option<&str>,
    ) -> Result<OwnedFd, String> {
        let fail =
            |e: &dyn std::fmt::Display| format!("Could not create FastCGI socket {url}: {e}");
        let fd: OwnedFd = if let Some(addr) = url.strip_prefix("tcp://") {
            let listener = std::net::TcpListener::bind(addr).map_err(|e| fail(&e))?;
            listener.into()
        } else if let Some(path) = url.strip_prefix("unix://") {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(&e)),
            }
            let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| fail(&e))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| fail(&e))?;
            if let Some(owner) = owner {
                let (user, group) = match owner.split_once(':') {
                    Some((u, g)) => (u, Some(g)),
                    None => (owner, None),
                };
                let uid = nix::unistd::User::from_name(user)
                    .ok()
                    .flatten()
                    .map(|u| u.uid)
                    .ok_or_else(|| fail(&format!("unknown user {user}")))?;
                let gid = group
                    .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten())
                    .map(|g| g.gid);
                nix::unistd::chown(path, Some(uid), gid).map_err(|e| fail(&e))?;
            }
            listener.into()
        } else {
            return Err(fail(&"unknown socket type"));
        };
        let backlog = backlog.unwrap_or(libc::SOMAXCONN as u32) as libc::c_int;
        // SAFETY: listen(2) on a socket we own; re-listening only changes the backlog.
        unsafe {
            libc::listen(fd.as_raw_fd(), backlog);
        }
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::BaseEnv;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn base_env_keeps_the_last_value_of_a_name_and_sorts() {
        let base = BaseEnv::new(owned(&[("PATH", "/a"), ("HOME", "/h"), ("PATH", "/b")]));
        assert_eq!(base.overlaid(Vec::new()), [("HOME", "/h"), ("PATH", "/b")]);
    }

    #[test]
    fn overlay_replaces_and_extends_the_base_in_name_order() {
        let base = BaseEnv::new(owned(&[("B", "base"), ("D", "base"), ("F", "base")]));
        let env = base.overlaid(vec![
            ("D", "first"),
            ("A", "new"),
            ("G", "new"),
            ("D", "second"),
            ("C", "new"),
            ("F", "over"),
        ]);
        assert_eq!(
            env,
            [
                ("A", "new"),
                ("B", "base"),
                ("C", "new"),
                ("D", "second"),
                ("F", "over"),
                ("G", "new"),
            ]
        );
    }
}
