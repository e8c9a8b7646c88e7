//! Which boot of the host this is: a run state records it, so one left from an earlier boot
//! (whose links, rules and processes went with that boot) is known for what it is.

use std::sync::OnceLock;

/// Linux names every boot with a random UUID.
const LINUX_BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// This boot of the host: Linux's `boot_id`, else (macOS) `kern.boottime`'s seconds. Read once
/// per process. `None` where neither can be read: then no state counts as an earlier boot's.
pub fn boot_id() -> Option<&'static str> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(read_boot_id).as_deref()
}

/// As `process::command_line` does, the platform is told by what it has (`/proc`), so this
/// layer stays free of `cfg`.
fn read_boot_id() -> Option<String> {
    match std::fs::read_to_string(LINUX_BOOT_ID) {
        Ok(id) => Some(id.trim().to_owned()).filter(|id| !id.is_empty()),
        Err(_) => {
            let out = std::process::Command::new("sysctl")
                .args(["-n", "kern.boottime"])
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            boot_seconds(&String::from_utf8_lossy(&out.stdout))
        }
    }
}

/// The seconds of `sysctl -n kern.boottime` (`{ sec = 1712345678, usec = 52311 } Fri Apr  5
/// 19:34:38 2024`): enough to tell boots apart, and the microseconds would only add noise.
fn boot_seconds(text: &str) -> Option<String> {
    let rest = text.split("sec = ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_macos_boot_seconds() {
        assert_eq!(
            super::boot_seconds("{ sec = 1712345678, usec = 52311 } Fri Apr  5 19:34:38 2024\n")
                .as_deref(),
            Some("1712345678")
        );
        assert_eq!(super::boot_seconds(""), None);
        assert_eq!(super::boot_seconds("{ sec = , usec = 1 }"), None);
    }

    #[test]
    fn this_boot_has_one_id() {
        if std::path::Path::new(super::LINUX_BOOT_ID).exists() {
            let id = super::boot_id().expect("Linux names its boot");
            assert_eq!(id.len(), 36, "{id}");
            assert_eq!(super::boot_id(), Some(id));
        }
    }
}
