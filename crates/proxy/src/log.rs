//! The proxy's log: timestamped lines to stderr or to the `-o` file, filtered by the `-v` level
//! (nutcracker's scale: 0 emergency .. 11 very verbose; 5 notice is the default).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;

pub const LOG_WARN: u8 = 4;
pub const LOG_NOTICE: u8 = 5;
pub const LOG_INFO: u8 = 6;

static LEVEL: AtomicU8 = AtomicU8::new(LOG_NOTICE);
static SINK: Mutex<Option<std::fs::File>> = Mutex::new(None);
static PATH: Mutex<Option<String>> = Mutex::new(None);

/// Sets the level and, with a path, sends lines to that file (appending) instead of stderr.
pub fn init(level: u8, path: Option<&str>) -> std::io::Result<()> {
    LEVEL.store(level, Relaxed);
    if let Some(p) = path {
        let f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
        *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
        *PATH.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.to_string());
    }
    Ok(())
}

/// Opens the `-o` file again (SIGHUP, as nutcracker does), so a log rotated by renaming goes on
/// in a fresh file. If it cannot be opened the old file is kept.
pub fn reopen() {
    let Some(path) = PATH.lock().unwrap_or_else(|e| e.into_inner()).clone() else { return };
    match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        Ok(f) => *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(f),
        Err(e) => warn(format_args!("reopening log file '{path}' failed: {e}")),
    }
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}", rem / 3600, rem % 3600 / 60, rem % 60, now.subsec_millis())
}

pub fn log(level: u8, msg: std::fmt::Arguments<'_>) {
    if level > LEVEL.load(Relaxed) {
        return;
    }
    let line = format!("[{}] {msg}\n", timestamp());
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

pub fn warn(msg: std::fmt::Arguments<'_>) {
    log(LOG_WARN, msg)
}

pub fn notice(msg: std::fmt::Arguments<'_>) {
    log(LOG_NOTICE, msg)
}

pub fn info(msg: std::fmt::Arguments<'_>) {
    log(LOG_INFO, msg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 23, "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], " ");
    }
}
