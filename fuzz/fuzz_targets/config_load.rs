//! The supervisord.conf dialect and loader: lexing, %-interpolation, every section type
//! and `[include]` globs, from an in-memory tree (`steward_config::load_from_tree`).
//!
//! Input format: files separated by a NUL byte. The first is `/fuzz/supervisord.conf`;
//! each later one starts with its path relative to `/fuzz` on its first line (e.g.
//! `conf.d/a.conf`), the rest of the chunk being its contents. Errors are fine; a panic,
//! a hang or a blow-up of memory is the bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use steward_config::{LoadOptions, MemoryTree};

fuzz_target!(|data: &[u8]| {
    let mut tree = MemoryTree::default();
    let mut chunks = data.split(|&b| b == 0);
    tree.insert("/fuzz/supervisord.conf", chunks.next().unwrap_or_default());
    for chunk in chunks.take(16) {
        let (name, body) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], &chunk[i + 1..]),
            None => (chunk, &[][..]),
        };
        let name = String::from_utf8_lossy(name);
        tree.insert(Path::new("/fuzz").join(name.trim_start_matches('/')), body);
    }
    let opts = LoadOptions {
        env: [("HOME".to_string(), "/home/fuzz".to_string())].into(),
        host_node_name: "fuzzhost".into(),
        check_system: false,
    };
    if let Ok(cfg) =
        steward_config::load_from_tree(&tree, Path::new("/fuzz/supervisord.conf"), &opts)
    {
        // What `steward check` prints of a loaded config must render too.
        let _ = steward_config::check::render(&cfg);
    }
});
