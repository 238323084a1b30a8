//! The process's own figures for `/metrics`, read from `/proc/self` (Linux; elsewhere none).
//!
//! CPU time and the start time are in clock ticks there; Linux reports them at `USER_HZ`, which
//! is 100 on every architecture it supports for user space, so no `sysconf` is needed.

/// What `/proc/self` says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessFigures {
    pub(crate) resident_bytes: u64,
    pub(crate) cpu_seconds: f64,
    pub(crate) open_fds: usize,
    pub(crate) threads: u64,
    pub(crate) start_time_seconds: f64,
}

const USER_HZ: f64 = 100.0;

/// The figures, or `None` where `/proc` is not Linux's.
pub(crate) fn read() -> Option<ProcessFigures> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
    };
    let resident_bytes = field("VmRSS:")? * 1024;
    let threads = field("Threads:")?;
    // /proc/self/stat: the command may hold spaces, so count fields after its closing ')'.
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ')': state is field 3 of the man page, so field n is fields[n - 3]
    let tick = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    #[allow(clippy::cast_precision_loss)]
    let cpu_seconds = (tick(14)? + tick(15)?) as f64 / USER_HZ;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    #[allow(clippy::cast_precision_loss)]
    let start_time_seconds = boot as f64 + tick(22)? as f64 / USER_HZ;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(ProcessFigures { resident_bytes, cpu_seconds, open_fds, threads, start_time_seconds })
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn figures_are_plausible() {
        let p = super::read().unwrap();
        assert!(p.resident_bytes > 1_000_000, "{p:?}");
        assert!(p.threads >= 1 && p.open_fds >= 3, "{p:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!(p.start_time_seconds <= now + 1.0 && p.start_time_seconds > now - 86_400.0 * 365.0, "{p:?}");
        assert!(p.cpu_seconds >= 0.0);
    }
}
