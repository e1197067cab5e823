//! Link options for the `steward` binary.
//!
//! On glibc targets the binary is linked with `-z pack-relative-relocs` (DT_RELR): the
//! ~9,500 relative relocations of a position-independent Rust binary then take ~3 KB
//! instead of ~230 KB, which the dynamic loader would otherwise read (and keep resident)
//! at every start (≈ 0.4 MiB less RssFile). Linked against glibc ≥ 2.36 the binary gets a
//! `GLIBC_ABI_DT_RELR` version dependency, so it then needs glibc ≥ 2.36 to run (an older
//! loader refuses it with a clear error); linkers older than GNU ld 2.38 / lld 15 ignore
//! the option with a warning.
//!
//! Release builds linked by LLD (rustc's default linker on x86_64-unknown-linux-gnu since
//! Rust 1.90) also get `--symbol-ordering-file=text-order.txt`: the functions a daemon runs
//! to start, serve `status` and sit idle come first in `.text`, then those of everyday
//! operations, the API and the dashboard, then the rest. The kernel maps 64 KiB around
//! every fault in the binary, so with start-up code spread over the whole 6.4 MiB segment
//! nearly all of it was resident; laid out together it is ≈ 1.5 MiB (bench/analysis.md,
//! "Resident code"). A name the build no longer has is skipped, so a stale file only costs
//! memory, never correctness; `bench/text_order.py` regenerates it. Other linkers (GNU ld
//! has no such option) get nothing; `STEWARD_NO_TEXT_ORDER=1` turns it off.

use std::process::Command;

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if links_with_default_lld() && std::env::var("PROFILE").as_deref() == Ok("release") {
        let order = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("text-order.txt");
        println!(
            "cargo:rustc-link-arg-bin=steward=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=steward=-Wl,--no-warn-symbol-ordering");
        println!("cargo:rerun-if-changed=text-order.txt");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=STEWARD_NO_TEXT_ORDER");
}

/// True when rustc links this target with its bundled LLD: x86_64-unknown-linux-gnu with
/// rustc ≥ 1.90, and no linker chosen by the user.
fn links_with_default_lld() -> bool {
    if std::env::var_os("STEWARD_NO_TEXT_ORDER").is_some() {
        return false;
    }
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("link-self-contained") {
        return false;
    }
    if std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 1 || (major == 1 && minor >= 90)
}
