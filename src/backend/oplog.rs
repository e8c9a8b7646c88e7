//! The operation log of the recording hosts (Linux's and macOS's): what they were asked to
//! do, each as one line, and the one operation that is to fail.

/// The operations a recording host was asked for, each as one line, and the one that is to
/// fail (once): shared by the Linux and the macOS recording hosts.
#[derive(Default)]
pub struct OpLog {
    ops: std::cell::RefCell<Vec<String>>,
    fail: std::cell::RefCell<Option<String>>,
}

impl OpLog {
    pub fn ops(&self) -> Vec<String> {
        self.ops.borrow().clone()
    }

    pub fn clear(&self) {
        self.ops.borrow_mut().clear();
    }

    /// The next operation whose record starts with `prefix` fails (once).
    pub fn fail_on(&self, prefix: &str) {
        *self.fail.borrow_mut() = Some(prefix.to_owned());
    }

    /// Record an operation; the injected failure when it is the one.
    pub fn op(&self, record: String) -> Result<(), crate::error::Error> {
        let failing = self
            .fail
            .borrow()
            .as_ref()
            .is_some_and(|prefix| record.starts_with(prefix.as_str()));
        self.ops.borrow_mut().push(record.clone());
        if failing {
            *self.fail.borrow_mut() = None;
            return Err(crate::error::Error::host(
                record + ": injected failure",
                "a test",
            ));
        }
        Ok(())
    }
}
