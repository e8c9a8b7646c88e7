//! Processes by pid: is one alive, and what is its command line (so a pid read from a file is
//! only acted on when it is the process vmctl started).

/// Is the process `pid` there, and not a zombie (dead, waiting for its parent to reap it)?
pub fn alive(pid: u32) -> bool {
    signalable(pid) && !zombie(pid)
}

/// Does `pid` answer signals (a zombie does)?
fn signalable(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // Another user's process is there too.
    matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    )
}

/// Is `pid` a zombie: `/proc/PID/stat` says so where there is a `/proc` (Linux); elsewhere
/// (macOS) `ps` does.
fn zombie(pid: u32) -> bool {
    if std::path::Path::new("/proc/self/stat").exists() {
        return std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
    }
    std::process::Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .is_ok_and(|out| is_zombie_state(&String::from_utf8_lossy(&out.stdout)))
}

/// `ps -o stat=`'s state letters (`Z`, `Z+`, `S`, `Ss`...).
fn is_zombie_state(stat: &str) -> bool {
    stat.trim_start().starts_with('Z')
}

/// The command line of `pid` (arguments joined by NUL on Linux, by spaces from `ps`
/// elsewhere), when it can be read.
pub fn command_line(pid: u32) -> Option<Vec<u8>> {
    if std::path::Path::new("/proc/self/cmdline").exists() {
        return std::fs::read(format!("/proc/{pid}/cmdline")).ok();
    }
    std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .map(|out| out.stdout)
        .ok()
}

/// When `pid` started, as the system says it (on Linux the clock ticks since boot in
/// `/proc/PID/stat`, elsewhere `ps`'s start time): the same pid with another start time is
/// another process.
pub fn start_time(pid: u32) -> Option<String> {
    if std::path::Path::new("/proc/self/stat").exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the command name (which may hold spaces and parentheses): field 22 is the
        // 20th after it.
        return stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)
            .map(str::to_owned);
    }
    let out = std::process::Command::new("ps")
        .args(["-o", "lstart=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Send `pid` SIGTERM and wait up to `wait` for it to be gone (or a zombie: dead, its parent
/// yet to reap it).
pub fn terminate(pid: u32, wait: std::time::Duration) {
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(raw),
        nix::sys::signal::Signal::SIGTERM,
    );
    let deadline = std::time::Instant::now() + wait;
    let mut polls = 0u32;
    while signalable(pid) && std::time::Instant::now() < deadline {
        polls += 1;
        // A zombie answers signals until its parent reaps it: every 50th poll asks whether
        // it is one (on macOS, that is a `ps`).
        if polls.is_multiple_of(50) && zombie(pid) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zombie_is_not_alive() {
        assert!(super::is_zombie_state("Z+\n"));
        assert!(super::is_zombie_state(" Z"));
        assert!(!super::is_zombie_state("Ss"));
        assert!(!super::is_zombie_state(""));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Dead, not reaped: it answers signals, yet it is no living process.
        while !super::zombie(pid) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(super::signalable(pid));
        assert!(!super::alive(pid));
        child.wait().unwrap();
        assert!(!super::alive(pid));
    }
}
