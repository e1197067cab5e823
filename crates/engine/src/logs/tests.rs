//! Integration tests of the log module: channels with real files, pipes and
//! devices, rotation invariants, and the read/tail tables.

use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::rotate::numbered;
use super::*;

fn opts(path: Option<PathBuf>, maxbytes: u64, backups: u32) -> ChannelLogOptions {
    ChannelLogOptions {
        path: path.map(|p| p.as_path().into()),
        maxbytes,
        backups,
        ..Default::default()
    }
}

/// `n` numbered lines, 8 bytes each.
fn numbered_lines(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 8);
    for i in 0..n {
        v.extend_from_slice(format!("{i:07}\n").as_bytes());
    }
    v
}

/// Feeds `data` in random chunks of 1..=max_chunk bytes.
fn feed_randomly(log: &mut ChannelLog, data: &[u8], max_chunk: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rest = data;
    while !rest.is_empty() {
        let n = rng.gen_range(1..=max_chunk).min(rest.len());
        let f = log.feed(&rest[..n]);
        assert!(f.error.is_none(), "{:?}", f.error);
        assert_eq!(f.logged, &rest[..n]);
        assert!(f.captured.is_empty());
        rest = &rest[n..];
    }
}

fn backups_present(base: &Path, upto: u32) -> Vec<u32> {
    (1..=upto).filter(|&i| numbered(base, i).exists()).collect()
}

#[test]
fn rotation_keeps_every_line_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("out.log");
    let data = numbered_lines(1_000_000);
    let maxbytes = 200_000;
    let max_chunk = 9000;
    let mut log = ChannelLog::open(opts(Some(base.clone()), maxbytes, 100)).unwrap();
    feed_randomly(&mut log, &data, max_chunk, 1);
    let present = backups_present(&base, 100);
    let expected_rotations = data.len() as u64 / maxbytes; // ~40
    assert!(present.len() as u64 >= expected_rotations - 1);
    assert_eq!(present, (1..=present.len() as u32).collect::<Vec<_>>());
    // Oldest first: .N … .1, base.
    let mut all = Vec::new();
    for &i in present.iter().rev() {
        let chunk = fs::read(numbered(&base, i)).unwrap();
        assert!(chunk.len() as u64 >= maxbytes, "backup .{i} too small");
        assert!(
            (chunk.len() as u64) < maxbytes + max_chunk as u64,
            "backup .{i} too big"
        );
        all.extend_from_slice(&chunk);
    }
    let tail = fs::read(&base).unwrap();
    assert!((tail.len() as u64) < maxbytes);
    assert_eq!(log.size(), tail.len() as u64);
    all.extend_from_slice(&tail);
    assert_eq!(all.len(), data.len());
    assert!(all == data, "concatenation of backups and base differs");
}

#[test]
fn rotation_keeps_exactly_backups_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("out.log");
    let data = numbered_lines(50_000);
    let mut log = ChannelLog::open(opts(Some(base.clone()), 10_000, 3)).unwrap();
    feed_randomly(&mut log, &data, 700, 2);
    assert_eq!(backups_present(&base, 10), vec![1, 2, 3]);
    // The kept files are the newest contiguous part of the stream.
    let mut all = Vec::new();
    for i in [3, 2, 1] {
        all.extend(fs::read(numbered(&base, i)).unwrap());
    }
    all.extend(fs::read(&base).unwrap());
    assert!(data.ends_with(&all));
    assert!(all.len() >= 30_000);
}

#[test]
fn rotation_with_zero_backups_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("out.log");
    let data = numbered_lines(20_000);
    let mut log = ChannelLog::open(opts(Some(base.clone()), 5_000, 0)).unwrap();
    feed_randomly(&mut log, &data, 300, 3);
    assert!(backups_present(&base, 3).is_empty());
    let content = fs::read(&base).unwrap();
    assert!(content.len() < 5_000);
    assert!(data.ends_with(&content));
}

#[test]
fn rotation_exact_boundaries() {
    // Rotation happens after the write that reaches maxbytes, never before.
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("x.log");
    let mut log = ChannelLog::open(opts(Some(base.clone()), 10, 2)).unwrap();
    log.feed(b"123456789");
    assert!(!numbered(&base, 1).exists());
    log.feed(b"0");
    assert_eq!(fs::read(numbered(&base, 1)).unwrap(), b"1234567890");
    assert_eq!(fs::read(&base).unwrap(), b"");
    log.feed(b"a very long chunk beyond maxbytes");
    assert_eq!(
        fs::read(numbered(&base, 1)).unwrap(),
        b"a very long chunk beyond maxbytes"
    );
    assert_eq!(fs::read(numbered(&base, 2)).unwrap(), b"1234567890");
    log.feed(b"third chunk!");
    assert_eq!(
        fs::read(numbered(&base, 2)).unwrap(),
        b"a very long chunk beyond maxbytes"
    );
    assert!(!numbered(&base, 3).exists());
    // Appending to an existing file counts its current size.
    drop(log);
    fs::write(&base, b"12345678").unwrap();
    let mut log = ChannelLog::open(opts(Some(base.clone()), 10, 2)).unwrap();
    assert_eq!(log.size(), 8);
    log.feed(b"ab");
    assert_eq!(fs::read(numbered(&base, 1)).unwrap(), b"12345678ab");
}

#[test]
fn external_truncation_does_not_rotate_spuriously() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("x.log");
    let mut log = ChannelLog::open(opts(Some(base.clone()), 10, 2)).unwrap();
    log.feed(b"12345");
    // logrotate copytruncate
    fs::OpenOptions::new()
        .write(true)
        .open(&base)
        .unwrap()
        .set_len(0)
        .unwrap();
    log.feed(b"abcde");
    assert!(!numbered(&base, 1).exists());
    assert_eq!(fs::read(&base).unwrap(), b"abcde");
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let (r, w) = nix::unistd::pipe().unwrap();
    (std::fs::File::from(r), std::fs::File::from(w))
}

#[test]
fn non_seekable_pipe_is_appended_and_never_rotated() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (mut r, w) = pipe();
    let path = PathBuf::from(format!("/proc/self/fd/{}", w.as_raw_fd()));
    let mut log = ChannelLog::open(opts(Some(path), 10, 3)).unwrap();
    assert!(!log.seekable());
    let mut sent = Vec::new();
    for i in 0..100 {
        let line = format!("line {i}\n");
        let f = log.feed(line.as_bytes());
        assert!(f.error.is_none(), "{:?}", f.error);
        sent.extend_from_slice(line.as_bytes());
    }
    assert_eq!(log.size(), 0);
    log.reopen().unwrap();
    log.clear().unwrap(); // must not try to unlink anything
    log.feed(b"after clear\n");
    sent.extend_from_slice(b"after clear\n");
    drop(log);
    drop(w);
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, sent);
}

#[test]
fn regular_file_behind_proc_path_is_never_renamed() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.log");
    let f = fs::File::create(&real).unwrap();
    let path = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
    let mut log = ChannelLog::open(opts(Some(path), 4, 2)).unwrap();
    assert!(!log.seekable());
    for _ in 0..5 {
        assert!(log.feed(b"12345").error.is_none());
    }
    log.clear().unwrap();
    assert_eq!(fs::read(&real).unwrap().len(), 25);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_log_on_dev_shm_rotates_like_any_file() {
    if !Path::new("/dev/shm").is_dir() {
        return;
    }
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        return;
    };
    let path = dir.path().join("w.log");
    let mut log = ChannelLog::open(opts(Some(path.clone()), 10, 2)).unwrap();
    assert!(log.seekable());
    for _ in 0..3 {
        assert!(log.feed(b"0123456789\n").error.is_none());
    }
    assert_eq!(backups_present(&path, 3), vec![1, 2]);
}

#[test]
fn char_device_is_never_rotated() {
    let mut log = ChannelLog::open(opts(Some("/dev/null".into()), 1, 2)).unwrap();
    assert!(!log.seekable());
    for _ in 0..10 {
        assert!(log.feed(b"xyz\n").error.is_none());
    }
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn write_errors_surface_and_do_not_stop_the_channel() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let mut log = ChannelLog::open(ChannelLogOptions {
        path: Some(Path::new("/dev/full").into()),
        maxbytes: 5,
        backups: 1,
        tail_capacity: 64,
        ..Default::default()
    })
    .unwrap();
    for i in 0..3 {
        let f = log.feed(format!("chunk {i}\n").as_bytes());
        let e = f.error.expect("ENOSPC expected");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(f.logged, format!("chunk {i}\n").as_bytes());
    }
    assert_eq!(log.tail(), b"chunk 0\nchunk 1\nchunk 2\n");
}

#[test]
fn failed_rotation_loses_nothing_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("x.log");
    let blocker = numbered(&base, 1);
    fs::create_dir(&blocker).unwrap();
    fs::write(blocker.join("f"), b"").unwrap();
    let mut log = ChannelLog::open(opts(Some(base.clone()), 5, 1)).unwrap();
    let f = log.feed(b"abcdef");
    assert!(
        f.error.is_some(),
        "rename onto a non-empty directory must fail"
    );
    assert_eq!(f.logged, b"abcdef");
    let f = log.feed(b"gh");
    assert!(f.error.is_some());
    assert_eq!(fs::read(&base).unwrap(), b"abcdefgh");
    fs::remove_dir_all(&blocker).unwrap();
    let f = log.feed(b"ij");
    assert!(f.error.is_none(), "{:?}", f.error);
    assert_eq!(fs::read(&blocker).unwrap(), b"abcdefghij");
    assert_eq!(fs::read(&base).unwrap(), b"");
}

#[test]
fn reopen_follows_logrotate_create() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("app.log");
    let moved = dir.path().join("app.log.moved");
    let mut log = ChannelLog::open(opts(Some(base.clone()), 0, 0)).unwrap();
    log.feed(b"one\n");
    fs::rename(&base, &moved).unwrap();
    log.feed(b"two\n");
    log.reopen().unwrap();
    log.feed(b"three\n");
    assert_eq!(fs::read(&moved).unwrap(), b"one\ntwo\n");
    assert_eq!(fs::read(&base).unwrap(), b"three\n");
}

#[test]
fn clear_unlinks_base_keeps_backups() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("app.log");
    let mut log = ChannelLog::open(ChannelLogOptions {
        path: Some(base.as_path().into()),
        maxbytes: 4,
        backups: 2,
        tail_capacity: 100,
        ..Default::default()
    })
    .unwrap();
    log.feed(b"abcd");
    log.feed(b"ef");
    assert_eq!(log.tail(), b"abcdef");
    log.clear().unwrap();
    assert_eq!(fs::read(&base).unwrap(), b"");
    assert_eq!(fs::read(numbered(&base, 1)).unwrap(), b"abcd");
    assert!(log.tail().is_empty());
    assert_eq!(log.size(), 0);
    log.feed(b"gh");
    assert_eq!(fs::read(&base).unwrap(), b"gh");
    // Clearing when the file is already gone is fine.
    fs::remove_file(&base).unwrap();
    log.clear().unwrap();
    assert!(base.exists());
}

#[test]
fn tail_ring_keeps_last_bytes() {
    let mut log = ChannelLog::open(ChannelLogOptions {
        tail_capacity: 10,
        ..Default::default()
    })
    .unwrap();
    assert!(log.path().is_none());
    log.feed(b"0123");
    assert_eq!(log.tail(), b"0123");
    log.feed(b"456789ab");
    assert_eq!(log.tail(), b"23456789ab");
    log.feed(b"this is longer than ten");
    assert_eq!(log.tail(), b"er than ten"[1..].to_vec());
    let mut rng = StdRng::seed_from_u64(9);
    let data = numbered_lines(1000);
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = rng.gen_range(1..=25).min(rest.len());
        log.feed(&rest[..n]);
        rest = &rest[n..];
    }
    assert_eq!(log.tail(), data[data.len() - 10..].to_vec());
}

#[test]
fn capture_and_strip_through_channel() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("cap.log");
    let mut log = ChannelLog::open(ChannelLogOptions {
        path: Some(base.as_path().into()),
        strip_ansi: true,
        capture_maxbytes: 1000,
        syslog: false,
        ..Default::default()
    })
    .unwrap();
    let input: &[u8] =
        b"\x1b[32mstart\x1b[0m\n<!--XSUPERVISOR:BEGIN-->\x1b[1mevent body\x1b[0m<!--XSUPERVISOR:END-->end\n";
    let want_file = b"start\nend\n";
    for cut in 0..=input.len() {
        fs::write(&base, b"").unwrap();
        log.reopen().unwrap();
        let a = log.feed(&input[..cut]);
        let b = log.feed(&input[cut..]);
        let c = log.finish();
        let logged: Vec<u8> = [a.logged, b.logged, c.logged].concat();
        let captured: Vec<Vec<u8>> = [a.captured, b.captured, c.captured].concat();
        assert_eq!(logged, want_file, "cut {cut}");
        assert_eq!(captured, vec![b"event body".to_vec()], "cut {cut}");
        assert_eq!(fs::read(&base).unwrap(), want_file, "cut {cut}");
        assert!(!log.capturing());
    }
}

#[test]
fn syslog_channel_does_not_fail() {
    let mut log = ChannelLog::open(ChannelLogOptions {
        syslog: true,
        syslog_tag: "steward-test".into(),
        ..Default::default()
    })
    .unwrap();
    let f = log.feed(b"hello from the steward test suite\nsecond\0line\n");
    assert!(f.error.is_none());
}

#[test]
fn fast_path_logs_data_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("fast.log");
    let mut log = ChannelLog::open(opts(Some(base.clone()), 0, 0)).unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    for c in data.chunks(131_072) {
        let f = log.feed(c);
        assert_eq!(f.logged, c);
    }
    assert!(log.finish().logged.is_empty());
    assert_eq!(fs::read(&base).unwrap(), data);
    assert_eq!(log.size(), data.len() as u64);
}

// ---- read_range / tail_range ----------------------------------------------

const CONTENT: &[u8] = b"0123456789abcdefghij"; // 20 bytes

fn content_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.log");
    fs::write(&p, CONTENT).unwrap();
    (dir, p)
}

fn s(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// (offset, length, expected) for supervisord's readFile on CONTENT.
fn read_table() -> Vec<(i64, i64, Result<String, ReadError>)> {
    use ReadError::BadArguments as Bad;
    vec![
        (0, 0, Ok(s(CONTENT))),
        (5, 0, Ok(s(&CONTENT[5..]))),
        (0, 5, Ok(s(&CONTENT[..5]))),
        (3, 4, Ok(s(&CONTENT[3..7]))),
        (15, 100, Ok(s(&CONTENT[15..]))),
        (20, 0, Ok(String::new())),
        (25, 0, Ok(String::new())),
        (25, 5, Ok(String::new())),
        (-5, 0, Ok(s(&CONTENT[15..]))),
        (-20, 0, Ok(s(CONTENT))),
        (-100, 0, Ok(s(CONTENT))),
        (-5, 1, Err(Bad)),
        (-5, -1, Err(Bad)),
        (0, -1, Err(Bad)),
        (3, -5, Err(Bad)),
        (0, i64::from(i32::MAX), Ok(s(CONTENT))),
        (-i64::from(i32::MAX), 0, Ok(s(CONTENT))),
    ]
}

/// (offset, length, expected) for supervisord's tailFile on CONTENT.
fn tail_table() -> Vec<(i64, i64, (String, i64, bool))> {
    vec![
        (0, 0, (String::new(), 20, true)),
        (0, 5, (s(&CONTENT[15..]), 20, true)),
        (0, 20, (s(CONTENT), 20, false)),
        (0, 100, (s(CONTENT), 20, false)),
        (10, 10, (s(&CONTENT[10..]), 20, false)),
        (10, 5, (s(&CONTENT[15..]), 20, true)),
        // supervisord quirk: when offset + length passes EOF, the read
        // starts at size - length (clamped at 0), not at offset.
        (15, 100, (s(CONTENT), 20, false)),
        (19, 100, (s(CONTENT), 20, false)),
        (15, 5, (s(&CONTENT[15..]), 20, false)),
        (18, 2, (s(&CONTENT[18..]), 20, false)),
        (19, 1, (s(&CONTENT[19..]), 20, false)),
        (20, 0, (String::new(), 20, false)),
        (20, 100, (String::new(), 20, false)),
        (50, 100, (String::new(), 20, false)),
        (-5, 10, (s(&CONTENT[10..]), 20, true)),
        (-5, 100, (s(CONTENT), 20, false)),
        (0, -5, (String::new(), 20, true)),
        (30, -5, (String::new(), 20, false)),
        (5, 1024, (s(CONTENT), 20, false)),
    ]
}

#[test]
fn read_range_table() {
    let (_d, p) = content_file();
    for (off, len, want) in read_table() {
        assert_eq!(read_range(&p, off, len), want, "readFile({off}, {len})");
    }
    // Python overflows here (HTTP 500); we return the whole file.
    assert_eq!(read_range(&p, i64::MIN, 0), Ok(s(CONTENT)));
    assert_eq!(read_range(&p, 0, i64::MAX), Ok(s(CONTENT)));
    assert_eq!(
        tail_range(&p, i64::MAX, i64::MAX),
        (String::new(), 20, false)
    );
    assert_eq!(
        tail_range(&p, i64::MIN, i64::MIN),
        (String::new(), 20, true)
    );
    let missing = p.with_extension("missing");
    assert_eq!(read_range(&missing, 0, 0), Err(ReadError::NoFile));
    assert_eq!(read_range(&missing, -1, 5), Err(ReadError::NoFile));
    let dir = p.parent().unwrap();
    assert!(matches!(read_range(dir, 0, 0), Err(ReadError::Failed(_))));
    // Not regular files: never block, never read a terminal.
    let (_r, w) = pipe();
    use std::os::fd::AsRawFd;
    let fifo = PathBuf::from(format!("/proc/self/fd/{}", w.as_raw_fd()));
    assert!(matches!(read_range(&fifo, 0, 0), Err(ReadError::Failed(_))));
    assert_eq!(tail_range(&fifo, 7, 10), (String::new(), 7, false));
    assert!(matches!(
        read_range(Path::new("/dev/null"), 0, 0),
        Err(ReadError::Failed(_))
    ));
}

#[test]
fn tail_range_table() {
    let (_d, p) = content_file();
    for (off, len, want) in tail_table() {
        assert_eq!(tail_range(&p, off, len), want, "tailFile({off}, {len})");
    }
    let missing = p.with_extension("missing");
    assert_eq!(tail_range(&missing, 0, 100), (String::new(), 0, false));
    assert_eq!(tail_range(&missing, 42, 100), (String::new(), 42, false));
    let empty = p.with_extension("empty");
    fs::write(&empty, b"").unwrap();
    assert_eq!(tail_range(&empty, 0, 100), (String::new(), 0, false));
    assert_eq!(tail_range(&empty, 10, 100), (String::new(), 0, false));
}

#[test]
fn reads_cut_multibyte_characters_leniently() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.log");
    fs::write(&p, "aé€b".as_bytes()).unwrap(); // a, c3 a9, e2 82 ac, b
    assert_eq!(read_range(&p, 0, 0).unwrap(), "aé€b");
    assert_eq!(read_range(&p, 2, 0).unwrap(), "\u{fffd}€b");
    assert_eq!(read_range(&p, 0, 2).unwrap(), "a\u{fffd}");
    assert_eq!(read_range(&p, -3, 0).unwrap(), "\u{fffd}b");
    assert_eq!(read_range(&p, 4, 0).unwrap(), "\u{fffd}b");
    assert_eq!(read_range(&p, 1, 4).unwrap(), "é\u{fffd}");
    // Invalid bytes in the middle are replaced too.
    let bad = dir.path().join("bad.log");
    fs::write(&bad, b"x\xffy").unwrap();
    assert_eq!(read_range(&bad, 0, 0).unwrap(), "x\u{fffd}y");
    let (text, off, overflow) = tail_range(&p, 0, 3);
    assert_eq!((text.as_str(), off, overflow), ("\u{fffd}b", 7, true));
}

/// Cross-checks both tables against the real supervisor 4.3 functions when
/// its virtualenv is available (skipped otherwise).
#[test]
fn tables_match_python_supervisor() {
    let python = Path::new("/tmp/venv-sup/bin/python");
    if !python.exists() {
        return;
    }
    let (_d, p) = content_file();
    let reads: Vec<(i64, i64)> = read_table().iter().map(|t| (t.0, t.1)).collect();
    let tails: Vec<(i64, i64)> = tail_table().iter().map(|t| (t.0, t.1)).collect();
    let script = r#"
import json, sys
from supervisor.options import readFile, tailFile
path = sys.argv[1]
reads = json.loads(sys.argv[2]); tails = json.loads(sys.argv[3])
out_r = []
for off, ln in reads:
    try:
        out_r.append(readFile(path, off, ln).decode())
    except ValueError as e:
        out_r.append({"error": e.args[0]})
out_t = [tailFile(path, off, ln) for off, ln in tails]
print(json.dumps([out_r, out_t]))
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&p)
        .arg(serde_json::to_string(&reads).unwrap())
        .arg(serde_json::to_string(&tails).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (off, len, want)) in read_table().into_iter().enumerate() {
        let py = &v[0][i];
        let py_res = match py.as_str() {
            Some(text) => Ok(text.to_owned()),
            None => {
                assert_eq!(py["error"], "BAD_ARGUMENTS");
                Err(ReadError::BadArguments)
            }
        };
        assert_eq!(py_res, want, "python readFile({off}, {len})");
    }
    for (i, (off, len, want)) in tail_table().into_iter().enumerate() {
        let py = &v[1][i];
        let py_res = (
            py[0].as_str().unwrap().to_owned(),
            py[1].as_i64().unwrap(),
            py[2].as_bool().unwrap(),
        );
        assert_eq!(py_res, want, "python tailFile({off}, {len})");
    }
}

#[test]
fn splice_moves_pipe_bytes_into_the_file_and_rotates_without_losing_any() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spliced.log");
    let mut log = ChannelLog::open(opts(Some(path.clone()), 50_000, 20)).unwrap();
    assert!(log.can_splice());
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let mut writer = std::fs::File::from(w);
    let mut expected = Vec::new();
    for i in 0..12_000 {
        let line = format!("line {i:06}\n");
        expected.extend_from_slice(line.as_bytes());
    }
    // Feed in pieces that fit the pipe; splice after each.
    for chunk in expected.chunks(30_000) {
        writer.write_all(chunk).unwrap();
        loop {
            match log.splice_from(r.as_raw_fd(), 1 << 20) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    drop(writer);
    assert_eq!(log.splice_from(r.as_raw_fd(), 1 << 20).unwrap(), 0, "EOF");
    // Backups (oldest first) then the base file hold every byte exactly once.
    let mut got = Vec::new();
    for n in (1..=20).rev() {
        if let Ok(b) = std::fs::read(format!("{}.{n}", path.display())) {
            got.extend(b);
        }
    }
    got.extend(std::fs::read(&path).unwrap());
    assert_eq!(got, expected);
    assert!(
        std::path::Path::new(&format!("{}.1", path.display())).exists(),
        "it rotated"
    );
}

#[test]
fn splice_is_off_when_the_bytes_must_be_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(Some(dir.path().join("x.log")), 0, 0);
    o.strip_ansi = true;
    assert!(!ChannelLog::open(o).unwrap().can_splice());
    let mut o = opts(Some(dir.path().join("y.log")), 0, 0);
    o.capture_maxbytes = 100;
    assert!(!ChannelLog::open(o).unwrap().can_splice());
    assert!(!ChannelLog::open(opts(None, 0, 0)).unwrap().can_splice());
}
