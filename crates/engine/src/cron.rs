//! Scheduling of `[cron:name]` jobs: which fire times are due now, which were missed, and
//! the bookkeeping of each run.
//!
//! The engine loop owns the jobs; this module holds the pure part so it can be tested
//! without a clock. Data flow: the loop asks [`plan`] what to do at a wall-clock wake-up,
//! starts the runs it returns (each a process spawn of the job's program), and arms the
//! wall timer for the returned `next` fire time. Fire times come from
//! `steward_cron::Schedule::next_after`, which is strictly increasing, so a clock that
//! moves backwards can never produce a second run of a fire time already handled.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use steward_config::CronConfig;
use steward_cron::Schedule;

/// The environment variable of the test-only clock offset (see [`clock_offset`]).
pub const TEST_CLOCK_OFFSET_ENV: &str = "STEWARD_TEST_CLOCK_OFFSET_MS";

/// **Test only.** How far this daemon's cron planning believes the clock is ahead of the
/// system clock: `STEWARD_TEST_CLOCK_OFFSET_MS` (signed milliseconds), read once, zero
/// when unset or unparsable. It lets one machine run several daemons whose clocks
/// disagree (the cluster tests run nodes at −2 s, 0 and +2 s). Only fire planning uses
/// it; process times, logs and history keep the real clock. Never set it in production.
pub fn clock_offset() -> jiff::SignedDuration {
    static OFFSET: std::sync::OnceLock<jiff::SignedDuration> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var(TEST_CLOCK_OFFSET_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(jiff::SignedDuration::from_millis)
            .unwrap_or_default()
    })
}

/// "Now" for fire planning: the system clock plus [`clock_offset`].
pub fn planning_now() -> Timestamp {
    let now = Timestamp::now();
    now.checked_add(clock_offset()).unwrap_or(now)
}

/// How a run came about (stored in the run history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    Schedule,
    Manual,
    Catchup,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Manual => "manual",
            RunTrigger::Catchup => "catchup",
        }
    }
}

/// A fire time is "on time" when the wake-up comes at most this late; older fire times
/// count as missed (downtime, suspend, a clock step) and follow the job's `catchup`.
pub const ON_TIME_GRACE: Duration = Duration::from_secs(30);

/// The on-time grace when the daemon (re)starts: a fire time before the start was missed
/// while the daemon was down and follows `catchup`; only a fire during the daemon's own
/// start-up (this close to now) still runs as a scheduled run.
pub const STARTUP_GRACE: Duration = Duration::from_secs(1);

/// Upper bound of fire times examined in one plan (a seconds-level schedule after weeks of
/// downtime would otherwise take long); past it, older fires are simply skipped.
const MAX_EXAMINED: usize = 100_000;

/// What to do at a wake-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Missed fire times to run now as catch-up runs (oldest first, at most `catchup`).
    pub catchup: Vec<Timestamp>,
    /// The fire time that is due now, if any.
    pub on_time: Option<Timestamp>,
    /// How many fire times were skipped (missed and beyond `catchup`).
    pub skipped: usize,
    /// The next fire time after `now`.
    pub next: Option<Timestamp>,
    /// The latest fire time at or before `now` (the new `after` for the next plan).
    pub handled_until: Timestamp,
}

/// Plans a wake-up at `now`, given the last fire time already handled (`after`).
pub fn plan(
    schedule: &Schedule,
    tz: &TimeZone,
    after: Timestamp,
    now: Timestamp,
    catchup: u32,
    grace: Duration,
) -> Plan {
    let mut due = Vec::new();
    let mut cursor = after;
    let grace = jiff::SignedDuration::try_from(grace).unwrap_or_default();
    let mut examined = 0;
    let mut overflowed = 0usize;
    while let Some(next) = schedule.next_after(cursor, tz) {
        let t = next.timestamp();
        if t > now {
            break;
        }
        examined += 1;
        if examined > MAX_EXAMINED {
            // Jump close to now; count the rest as skipped without listing them.
            overflowed += 1;
            let floor = now.checked_sub(grace).unwrap_or(now);
            if floor <= t {
                due.push(t);
                cursor = t;
                continue;
            }
            cursor = floor;
            continue;
        }
        due.push(t);
        cursor = t;
    }
    let mut plan = Plan {
        next: schedule
            .next_after(now.max(cursor), tz)
            .map(|z| z.timestamp()),
        handled_until: cursor,
        ..Plan::default()
    };
    if let Some(&last) = due.last() {
        if now.duration_since(last) <= grace {
            plan.on_time = Some(last);
            due.pop();
        }
    }
    let keep = (catchup as usize).min(due.len());
    plan.skipped = due.len() - keep + overflowed;
    plan.catchup = due.split_off(due.len() - keep);
    plan
}

/// A parsed `[cron:x]` job.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub schedule: Schedule,
    pub tz: TimeZone,
    pub config: CronConfig,
}

impl JobSpec {
    pub fn new(config: &CronConfig) -> Result<JobSpec, String> {
        let schedule = Schedule::parse(&config.schedule).map_err(|e| e.to_string())?;
        let tz = match &config.timezone {
            Some(name) => TimeZone::get(name).map_err(|e| e.to_string())?,
            None => TimeZone::system(),
        };
        Ok(JobSpec {
            schedule,
            tz,
            config: config.clone(),
        })
    }

    /// The time zone's name for display.
    pub fn tz_name(&self) -> String {
        self.config
            .timezone
            .clone()
            .or_else(|| self.tz.iana_name().map(str::to_string))
            .unwrap_or_else(|| "local".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_on_time_wakeup_runs_exactly_that_fire() {
        let s = Schedule::parse("* * * * *").unwrap();
        let p = plan(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T00:00:00Z"),
            ts("2026-01-01T00:01:00.004Z"),
            0,
            ON_TIME_GRACE,
        );
        assert_eq!(p.on_time, Some(ts("2026-01-01T00:01:00Z")));
        assert!(p.catchup.is_empty());
        assert_eq!(p.skipped, 0);
        assert_eq!(p.next, Some(ts("2026-01-01T00:02:00Z")));
    }

    #[test]
    fn downtime_follows_catchup() {
        let s = Schedule::parse("0 * * * *").unwrap();
        let after = ts("2026-01-01T00:00:00Z");
        let now = ts("2026-01-01T05:30:00Z");
        let none = plan(&s, &TimeZone::UTC, after, now, 0, ON_TIME_GRACE);
        assert_eq!(none.on_time, None);
        assert_eq!(none.skipped, 5);
        assert!(none.catchup.is_empty());
        let two = plan(&s, &TimeZone::UTC, after, now, 2, ON_TIME_GRACE);
        assert_eq!(
            two.catchup,
            vec![ts("2026-01-01T04:00:00Z"), ts("2026-01-01T05:00:00Z")]
        );
        assert_eq!(two.skipped, 3);
        assert_eq!(two.next, Some(ts("2026-01-01T06:00:00Z")));
    }

    #[test]
    fn after_downtime_a_recent_fire_follows_catchup_with_the_startup_grace() {
        let s = Schedule::parse("* * * * * *").unwrap();
        let after = ts("2026-01-01T00:00:00Z");
        let now = ts("2026-01-01T00:00:05.300Z");
        // With the run-time grace the fire of 00:00:05 (0.3 s ago) is on time ...
        let late = plan(&s, &TimeZone::UTC, after, now, 0, ON_TIME_GRACE);
        assert_eq!(late.on_time, Some(ts("2026-01-01T00:00:05Z")));
        // ... and so would be a fire 20 s ago: at start-up that is a missed fire; only
        // the fire 0.3 s ago (during the daemon's own start-up) is on time.
        let now = ts("2026-01-01T00:00:25.300Z");
        let restart = plan(&s, &TimeZone::UTC, after, now, 0, STARTUP_GRACE);
        assert_eq!(restart.on_time, Some(ts("2026-01-01T00:00:25Z")));
        assert!(restart.catchup.is_empty());
        assert_eq!(restart.skipped, 24);
        let two = plan(&s, &TimeZone::UTC, after, now, 2, STARTUP_GRACE);
        assert_eq!(
            two.catchup,
            vec![ts("2026-01-01T00:00:23Z"), ts("2026-01-01T00:00:24Z")]
        );
        assert_eq!(two.skipped, 22);
        let run_time = plan(&s, &TimeZone::UTC, after, now, 0, ON_TIME_GRACE);
        assert_eq!(run_time.on_time, Some(ts("2026-01-01T00:00:25Z")));
        let hour = Schedule::parse("0 * * * *").unwrap();
        let restart = plan(
            &hour,
            &TimeZone::UTC,
            ts("2026-01-01T00:00:00Z"),
            ts("2026-01-01T01:00:20Z"),
            0,
            STARTUP_GRACE,
        );
        assert_eq!(restart.on_time, None, "01:00 was 20 s before the start");
        assert_eq!(restart.skipped, 1);
        let late_wake = plan(
            &hour,
            &TimeZone::UTC,
            ts("2026-01-01T00:00:00Z"),
            ts("2026-01-01T01:00:20Z"),
            0,
            ON_TIME_GRACE,
        );
        assert_eq!(late_wake.on_time, Some(ts("2026-01-01T01:00:00Z")));
    }

    #[test]
    fn a_clock_moved_back_never_repeats_a_fire() {
        let s = Schedule::parse("0 * * * *").unwrap();
        // Last handled 10:00; the clock now says 09:30.
        let p = plan(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T10:00:00Z"),
            ts("2026-01-01T09:30:00Z"),
            5,
            ON_TIME_GRACE,
        );
        assert_eq!(p.on_time, None);
        assert!(p.catchup.is_empty());
        assert_eq!(p.next, Some(ts("2026-01-01T11:00:00Z")));
    }

    #[test]
    fn long_downtime_of_a_seconds_schedule_is_bounded() {
        let s = Schedule::parse("* * * * * *").unwrap();
        let p = plan(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T00:00:00Z"),
            ts("2026-01-03T00:00:00Z"),
            1,
            ON_TIME_GRACE,
        );
        assert_eq!(p.catchup.len(), 1);
        assert!(p.skipped > 100_000);
        assert_eq!(p.next, Some(ts("2026-01-03T00:00:01Z")));
    }
}
