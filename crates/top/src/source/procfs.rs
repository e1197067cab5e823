//! CPU and memory of a local daemon's children, read from /proc.
//!
//! Neither the API's list nor XML-RPC carries them, and asking for each process's details
//! every few seconds would cost the daemon a thousand requests; a daemon on this machine
//! has its children's pids in our /proc. The sampler keeps each pid's CPU ticks from the
//! previous sample, so CPU is the percent of one core since then (what `top` shows), not
//! the average since start.

use std::collections::HashMap;
use std::time::Instant;

/// The previous sample: CPU ticks by pid and when they were read.
#[derive(Default)]
pub struct Sampler {
    previous: HashMap<i32, u64>,
    at: Option<Instant>,
}

impl Sampler {
    /// Samples `pids`: (pid, CPU percent since the last sample, resident bytes). A pid seen
    /// for the first time reports 0 % until the next sample.
    pub fn sample(&mut self, pids: &[i32]) -> Vec<(i32, f64, u64)> {
        // SAFETY: sysconf has no preconditions.
        let (page, hz) = unsafe {
            (
                libc::sysconf(libc::_SC_PAGESIZE),
                libc::sysconf(libc::_SC_CLK_TCK),
            )
        };
        let hz = if hz > 0 { hz as f64 } else { 100.0 };
        let now = Instant::now();
        let elapsed = self.at.map(|t| now.duration_since(t).as_secs_f64());
        let mut next = HashMap::with_capacity(pids.len());
        let mut out = Vec::with_capacity(pids.len());
        for &pid in pids {
            let Some((ticks, rss_pages)) = read_stat(pid) else {
                continue;
            };
            let cpu = match (self.previous.get(&pid), elapsed) {
                (Some(&before), Some(secs)) if secs > 0.0 => {
                    100.0 * ticks.saturating_sub(before) as f64 / hz / secs
                }
                _ => 0.0,
            };
            next.insert(pid, ticks);
            out.push((pid, cpu, rss_pages * page.max(1) as u64));
        }
        self.previous = next;
        self.at = Some(now);
        out
    }
}

/// utime + stime and the resident pages, from one read of /proc/PID/stat.
fn read_stat(pid: i32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    // state is field 3 of stat(5); after ')' it is index 0, so utime (14) is 11.
    Some((num(11)? + num(12)?, num(21)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut s = Sampler::default();
        let me = std::process::id() as i32;
        let first = s.sample(&[me, -5]);
        assert_eq!(first.len(), 1, "a missing pid is skipped");
        assert_eq!(first[0].0, me);
        assert!(first[0].2 > 1 << 20, "resident memory is at least a MiB");
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_add(i ^ (x >> 3));
        }
        std::hint::black_box(x);
        let second = s.sample(&[me]);
        assert!(second[0].1 > 0.0, "a busy loop shows CPU: {second:?}");
    }
}
