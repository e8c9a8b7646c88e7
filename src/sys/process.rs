//! Processes by pid: is one alive, and what is its command line (so a pid read from a file is
//! only acted on when it is the process vmctl started).

/// Is the process `pid` there (and, on Linux, not a zombie)?
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        // Another user's process is there too.
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(_) => return false,
    }
    // A zombie still answers signals; /proc tells it apart where there is one.
    !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
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

/// Send `pid` SIGTERM and wait up to `wait` for it to be gone.
pub fn terminate(pid: u32, wait: std::time::Duration) {
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(raw),
        nix::sys::signal::Signal::SIGTERM,
    );
    let deadline = std::time::Instant::now() + wait;
    while alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
