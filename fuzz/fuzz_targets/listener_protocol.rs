//! The event-listener protocol parser (`READY`, `RESULT n\n…` on a listener's stdout):
//! the input is cut into reads at every 0xFF byte (so splits inside a line are explored)
//! and replayed through the daemon's parser, which asserts its own buffer bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let chunks: Vec<&[u8]> = data.split(|&b| b == 0xFF).collect();
    let replay = steward_engine::supervisor::replay_listener_output(&chunks);
    let answered = replay.accepted.len() + replay.rejected.len();
    assert!(answered <= data.len(), "more answers than bytes");
});
