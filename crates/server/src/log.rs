//! Log lines in redis-server's layout: `pid:M 28 Nov 2026 18:40:01.123 * message`.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::Mutex;

use roost_store::now_ms;

pub const WARNING: char = '#';
pub const NOTICE: char = '*';
pub const VERBOSE: char = '-';
pub const DEBUG: char = '.';

/// Lines below this level (0 debug, 1 verbose, 2 notice, 3 warning) are dropped.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(2);
/// The `logfile`, when one is configured; standard output otherwise.
static FILE: Mutex<Option<File>> = Mutex::new(None);

fn rank(level: char) -> u8 {
    match level {
        DEBUG => 0,
        VERBOSE => 1,
        NOTICE => 2,
        _ => 3,
    }
}

/// Applies `loglevel` and `logfile`. An empty file name means standard output.
pub fn configure(loglevel: &str, logfile: &str) -> std::io::Result<()> {
    let min = match loglevel {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        _ => 3,
    };
    MIN_LEVEL.store(min, Ordering::Relaxed);
    *FILE.lock() = if logfile.is_empty() {
        None
    } else {
        Some(std::fs::OpenOptions::new().create(true).append(true).open(logfile)?)
    };
    Ok(())
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (year, month 1-12, day) of a count of days since 1970-01-01.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn log(level: char, msg: &str) {
    if rank(level) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let ms = now_ms() as i64;
    let secs = ms / 1000;
    let (y, m, d) = civil_date(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let line = format!(
        "{}:M {:02} {} {} {:02}:{:02}:{:02}.{:03} {} {}\n",
        std::process::id(),
        d,
        MONTHS[(m - 1) as usize],
        y,
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        ms % 1000,
        level,
        msg
    );
    match &mut *FILE.lock() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), (1970, 1, 1));
        assert_eq!(super::civil_date(20_785), (2026, 11, 28));
    }
}
