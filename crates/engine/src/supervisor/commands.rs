//! `[command:x]` runs: the loop spawns a declared one-shot command (the loop, because it
//! reaps every child with `waitpid(-1)`), and hands its output pipe and exit status back
//! through the same [`SpawnedCheck`] a health-check command uses. Reading the output,
//! enforcing the timeout and reporting are the caller's (`crate::actions::run_command`).

use super::*;

impl Engine {
    /// Spawns `/bin/sh -c COMMAND` in its own process group, as `user` when one is set
    /// (with that user's HOME, USER and LOGNAME, as supervisord sets them for programs).
    pub(super) fn spawn_declared_command(
        &mut self,
        cfg: &steward_config::CommandConfig,
    ) -> Result<SpawnedCheck, String> {
        let mut env = Vec::new();
        let mut as_user = None;
        if let Some(name) = &cfg.user {
            let user = nix::unistd::User::from_name(name)
                .map_err(|e| format!("user {name}: {e}"))?
                .ok_or_else(|| format!("no such user: {name}"))?;
            as_user = Some((user.uid.as_raw(), user.gid.as_raw()));
            env.push(("HOME".into(), user.dir.to_string_lossy().into_owned()));
            env.push(("USER".into(), name.clone()));
            env.push(("LOGNAME".into(), name.clone()));
        }
        env.extend(cfg.environment.iter().cloned());
        let argv = ["/bin/sh".to_string(), "-c".into(), cfg.command.clone()];
        self.spawn_helper(&argv, &env, cfg.directory.as_deref(), None, as_user)
    }
}
