//! Link options for the `steward` binary.
//!
//! On glibc targets the binary is linked with `-z pack-relative-relocs` (DT_RELR): the
//! ~9,500 relative relocations of a position-independent Rust binary then take ~3 KB
//! instead of ~230 KB, which the dynamic loader would otherwise read (and keep resident)
//! at every start (≈ 0.4 MiB less RssFile). Linked against glibc ≥ 2.36 the binary gets a
//! `GLIBC_ABI_DT_RELR` version dependency, so it then needs glibc ≥ 2.36 to run (an older
//! loader refuses it with a clear error); linkers older than GNU ld 2.38 / lld 15 ignore
//! the option with a warning.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
