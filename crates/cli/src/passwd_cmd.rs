//! `steward passwd`: hash a password for a `[user:NAME]` section.
//!
//! Reads the password from the terminal twice without echo (the two must match), or once
//! from standard input with `--stdin` (the first line, its line ending removed), and
//! prints the argon2id PHC string (`$argon2id$v=19$…`) to paste as `password = …`.
//!
//! Exit status: 0 printed; 1 the passwords differ, are empty, or could not be read.

use std::io::BufRead;

#[derive(clap::Args, Debug, Clone)]
pub struct PasswdArgs {
    /// Read the password from standard input (first line) instead of the terminal.
    #[arg(long)]
    pub stdin: bool,
}

pub fn run(args: &PasswdArgs) -> i32 {
    let password = match read(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    match steward_auth::hash_password(&password) {
        Ok(phc) => {
            println!("{phc}");
            0
        }
        Err(e) => {
            eprintln!("Error: hashing failed: {e}");
            1
        }
    }
}

fn read(args: &PasswdArgs) -> Result<String, String> {
    let password = if args.stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading stdin: {e}"))?;
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    } else {
        let prompt = |p: &str| {
            rpassword::prompt_password(p)
                .map_err(|e| format!("reading the terminal: {e} (use --stdin to pipe a password)"))
        };
        let first = prompt("Password: ")?;
        let second = prompt("Again: ")?;
        if first != second {
            return Err("the passwords differ".into());
        }
        first
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    Ok(password)
}
