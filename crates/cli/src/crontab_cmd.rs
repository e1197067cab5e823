//! `steward crontab list|add|remove|enable|disable|backup|restore|import|laravel`: the
//! command line over `steward_ops::crontab` (which owns the table edits, the guarded
//! read-modify-write through the real `crontab` program, backups and the import).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use steward_ops::crontab::{self, import, table, Applied, CrontabBinary, Current, Table, Target};

/// Options shared by every `steward crontab` command.
#[derive(clap::Args, Debug)]
pub struct CrontabArgs {
    /// Whose crontab (`crontab -u USER`); default: the invoking user's.
    #[arg(short = 'u', long, global = true, value_name = "USER")]
    pub user: Option<String>,
    /// Where backups go (created 0700; files 0600).
    #[arg(long, global = true, value_name = "DIR", default_value = crontab::DEFAULT_BACKUP_DIR)]
    pub backup_dir: PathBuf,
    /// The crontab program to drive.
    #[arg(long = "crontab-program", global = true, value_name = "PATH")]
    pub program: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CrontabCommand,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Preset {
    Minute,
    Hour,
    Day,
    Week,
}

impl Preset {
    fn schedule(self) -> &'static str {
        match self {
            Preset::Minute => "* * * * *",
            Preset::Hour => "0 * * * *",
            Preset::Day => "0 0 * * *",
            Preset::Week => "0 0 * * 0",
        }
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum CrontabCommand {
    /// Every job line: name (`-` if not Steward's), enabled, schedule, its meaning in
    /// words, next run, command.
    List,
    /// Add an entry tagged `# steward: NAME` (the same entry again changes nothing).
    Add {
        name: String,
        /// Five fields or an `@` name, e.g. '*/5 * * * *', '@daily'.
        #[arg(long, conflicts_with = "preset", required_unless_present = "preset")]
        schedule: Option<String>,
        /// minute = '* * * * *', hour = '0 * * * *', day = '0 0 * * *', week = '0 0 * * 0'.
        #[arg(long, value_enum)]
        preset: Option<Preset>,
        /// The shell command (a `%` is escaped to `\%` for you).
        #[arg(long = "command", alias = "cmd", value_name = "CMD")]
        command: String,
    },
    /// Remove an entry (its tag and its line).
    Remove { name: String },
    /// Uncomment an entry's line.
    Enable { name: String },
    /// Comment out an entry's line (the tag stays).
    Disable { name: String },
    /// Save the crontab to `<backup-dir>/crontab-<user>-<UTC time>.txt`.
    Backup,
    /// Install a backup file (checked first; a backup of "no crontab" removes it).
    Restore { file: PathBuf },
    /// Turn the entries into `[cron:NAME]` sections of a file in the include directory.
    Import {
        /// The include directory; default /etc/supervisor/conf.d if it exists, else
        /// /etc/steward/conf.d.
        #[arg(long, value_name = "DIR")]
        include_dir: Option<PathBuf>,
        /// Then comment out the imported entries in the crontab.
        #[arg(long)]
        disable_source: bool,
        /// Overwrite a file of that name that Steward did not write.
        #[arg(long)]
        force: bool,
        /// Print the file instead of writing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add the Laravel scheduler entry (`laravel-scheduler`, every minute).
    Laravel {
        /// The application's directory.
        #[arg(long, value_name = "DIR")]
        path: PathBuf,
    },
}

/// Runs the command; returns the exit status.
pub fn run(args: &CrontabArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("steward crontab: {e:#}");
            1
        }
    }
}

fn report(what: &str, applied: &Applied) {
    match applied {
        Applied::Unchanged => println!("{what}: unchanged"),
        Applied::Written { backup } => {
            println!(
                "{what}: done (backup of the previous crontab: {})",
                backup.display()
            )
        }
    }
}

fn edit_table(
    ct: &CrontabBinary,
    dir: &Path,
    f: impl FnOnce(&Table) -> Result<table::Edit, table::TableError>,
) -> anyhow::Result<Applied> {
    Ok(crontab::apply(ct, dir, |cur| {
        Ok(Target::from(f(&Table::parse(cur.text()))?))
    })?)
}

fn add(
    ct: &CrontabBinary,
    dir: &Path,
    name: &str,
    schedule: &str,
    command: &str,
) -> anyhow::Result<()> {
    let command = table::escape_command(command)?;
    let mut warning = None;
    let applied = edit_table(ct, dir, |t| {
        let edit = t.add(name, schedule, &command)?;
        warning = table::path_warning(&command, &t.path_for(t.lines().len()));
        Ok(edit)
    })?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    report(&format!("add {name}"), &applied);
    Ok(())
}

fn shell_word(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', r#"'"'"'"#))
    }
}

fn run_inner(args: &CrontabArgs) -> anyhow::Result<()> {
    if let Some(u) = &args.user {
        // The name also goes into backup and lock file names: only real accounts.
        if nix::unistd::User::from_name(u).ok().flatten().is_none() {
            bail!("user `{u}` unknown");
        }
    }
    let ct = CrontabBinary::new(args.program.as_deref(), args.user.as_deref());
    let dir = &args.backup_dir;
    match &args.command {
        CrontabCommand::List => list(&ct),
        CrontabCommand::Add {
            name,
            schedule,
            preset,
            command,
        } => {
            let schedule = match (schedule, preset) {
                (Some(s), _) => s.as_str(),
                (None, Some(p)) => p.schedule(),
                (None, None) => bail!("give --schedule or --preset"),
            };
            add(&ct, dir, name, schedule, command)
        }
        CrontabCommand::Laravel { path } => {
            if !path.is_absolute() {
                bail!("--path must be absolute (cron starts jobs in the user's home)");
            }
            let command = format!(
                "cd {} && php artisan schedule:run >> /dev/null 2>&1",
                shell_word(&path.to_string_lossy())
            );
            add(&ct, dir, "laravel-scheduler", "* * * * *", &command)
        }
        CrontabCommand::Remove { name } => {
            report(
                &format!("remove {name}"),
                &edit_table(&ct, dir, |t| t.remove(name))?,
            );
            Ok(())
        }
        CrontabCommand::Enable { name } => {
            let applied = edit_table(&ct, dir, |t| t.set_enabled(name, true))?;
            report(&format!("enable {name}"), &applied);
            Ok(())
        }
        CrontabCommand::Disable { name } => {
            let applied = edit_table(&ct, dir, |t| t.set_enabled(name, false))?;
            report(&format!("disable {name}"), &applied);
            Ok(())
        }
        CrontabCommand::Backup => {
            let path = crontab::backup(dir, &ct.user_name(), &ct.read()?)?;
            println!("{}", path.display());
            Ok(())
        }
        CrontabCommand::Restore { file } => {
            let target = crontab::read_backup(&ct, file)?;
            let applied = crontab::apply(&ct, dir, |_| Ok(target))?;
            report(&format!("restore {}", file.display()), &applied);
            Ok(())
        }
        CrontabCommand::Import {
            include_dir,
            disable_source,
            force,
            dry_run,
        } => import_cmd(
            &ct,
            dir,
            include_dir.as_deref(),
            *disable_source,
            *force,
            *dry_run,
        ),
    }
}

fn list(ct: &CrontabBinary) -> anyhow::Result<()> {
    let current = ct.read()?;
    let table = Table::parse(current.text());
    let tz = jiff::tz::TimeZone::system();
    let now = jiff::Timestamp::now();
    let mut rows = vec![[
        "NAME".to_string(),
        "ENABLED".into(),
        "SCHEDULE".into(),
        "NEXT RUN".into(),
        "MEANING".into(),
        "COMMAND".into(),
    ]];
    for e in table.entries() {
        let (meaning, next) = match table::check_cron_schedule(&e.job.schedule) {
            Ok(s) => (
                s.describe(),
                if !e.enabled {
                    "-".to_string()
                } else {
                    s.next_after(now, &tz).map_or_else(
                        || "-".into(),
                        |z| z.strftime("%Y-%m-%d %H:%M %Z").to_string(),
                    )
                },
            ),
            Err(err) => (format!("not understood: {err}"), "?".into()),
        };
        rows.push([
            e.name.clone().unwrap_or_else(|| "-".into()),
            if e.enabled { "yes" } else { "no" }.into(),
            e.job.schedule.clone(),
            next,
            meaning,
            e.job.command.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
    if current == Current::None {
        eprintln!("(no crontab for {})", ct.user_name());
    }
    Ok(())
}

fn import_cmd(
    ct: &CrontabBinary,
    backup_dir: &Path,
    include_dir: Option<&Path>,
    disable_source: bool,
    force: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    let user = ct.user_name();
    let pw = nix::unistd::User::from_name(&user)
        .ok()
        .flatten()
        .ok_or_else(|| anyhow!("user `{user}` not found"))?;
    let account = import::Account {
        user: user.clone(),
        home: pw.dir.to_string_lossy().into_owned(),
    };
    let dir = match include_dir {
        Some(d) => d.to_path_buf(),
        None => default_include_dir()?,
    };
    let file = dir.join(format!("crontab-{user}.conf"));
    let current = ct.read()?;
    let table = Table::parse(current.text());
    let mut imp = import::render(&table, &account);
    import::validate(&mut imp, &table, &account, &file)
        .map_err(|e| anyhow!("the imported sections do not load: {e}"))?;
    for n in &imp.notes {
        eprintln!("note: {n}");
    }
    if dry_run {
        print!("{}", imp.text);
        return Ok(());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    if let Ok(old) = std::fs::read_to_string(&file) {
        if !force && !steward_ops::managed::is_owned_by(&old, &import::owner(&user)) {
            bail!(
                "{} exists and was not written by `steward crontab import`; use --force to overwrite it",
                file.display()
            );
        }
    }
    let outcome = steward_ops::atomic::write_atomic(&file, imp.text.as_bytes(), 0o644)?;
    println!(
        "import: {} section(s) [{}] in {} ({outcome:?})",
        imp.imported.len(),
        imp.imported.join(", "),
        file.display()
    );
    if disable_source && !imp.source_lines.is_empty() {
        let lines = imp.source_lines.clone();
        let applied = crontab::apply(ct, backup_dir, |cur| {
            let now = Table::parse(cur.text());
            if now != table {
                return Err(crontab::CrontabError::ChangedSinceImport { user: user.clone() });
            }
            Ok(Target::from(now.disable_lines(&lines)))
        })?;
        report("disable the imported entries in the crontab", &applied);
    }
    println!(
        "apply with: steward ctl reread && steward ctl update (the directory must be in [include] files)"
    );
    Ok(())
}

/// The include directory of the config the daemon would use (its first `[include]
/// files=` pattern), else the one `steward service install` sets up.
fn default_include_dir() -> anyhow::Result<PathBuf> {
    use steward_ops::layout::{find_config, Layout};
    if let Some(config) = find_config(None) {
        let layout = Layout::read(&config).map_err(|e| anyhow!("{e}"))?;
        if let Some(dir) = layout.include_dir {
            return Ok(dir);
        }
    }
    Ok(steward_ops::service::ConfigPlace::detect().include_dir)
}
