//! The only writer of stdout: a table or bare values for people, one JSON envelope
//! (`{"status":"OK","body":...}`) for scripts. Diagnostics go to stderr.

use std::io::{ErrorKind, Write};

use comfy_table::{Table, presets::ASCII_FULL};
use serde_json::{Value, json};

use crate::error::Error;

/// How this invocation prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    /// Print a command's result: `body` as JSON, or `human` as text.
    pub fn data(&self, body: &Value, human: impl FnOnce() -> String) {
        if self.json {
            write_stdout(&envelope_ok(body));
        } else {
            let mut text = human();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            write_stdout(&text);
        }
    }

    /// `data` for a large body: serialized straight to stdout, never built as a `Value`.
    pub fn data_streamed(&self, body: &impl serde::Serialize, human: impl FnOnce() -> String) {
        if !self.json {
            return self.data(&Value::Null, human);
        }
        let stdout = std::io::stdout().lock();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
        let written = out
            .write_all(b"{\"status\":\"OK\",\"body\":")
            .and_then(|()| serde_json::to_writer(&mut out, body).map_err(std::io::Error::from))
            .and_then(|()| out.write_all(b"}\n"))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            stdout_failed(&e);
        }
    }

    /// Report a change: `{"status":"OK","body":...}` for scripts, a line on stderr for people.
    pub fn done(&self, body: &Value, message: &str) {
        if self.json {
            write_stdout(&envelope_ok(body));
        } else if !self.quiet {
            eprintln!("{message}");
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("note: {message}");
        }
    }

    /// Print an error: the JSON envelope on stdout, or `error:` / `hint:` on stderr.
    pub fn error(&self, message: &str, hint: Option<&str>, code: u32) {
        if self.json {
            let doc = json!({"status": "ERROR", "message": message, "code": code});
            write_stdout(&format!("{doc}\n"));
        } else {
            let mut text = format!("error: {message}\n");
            if let Some(hint) = hint {
                text = format!("{text}\nhint: {hint}\n");
            }
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }

    pub fn error_of(&self, err: &Error) {
        self.error(&err.to_string(), err.hint().as_deref(), err.json_code());
    }
}

/// `{"status":"OK","body":...}` written around `body` without copying it.
fn envelope_ok(body: &Value) -> String {
    format!("{{\"status\":\"OK\",\"body\":{body}}}\n")
}

/// A two-column field | value table, like `anka show`.
pub fn field_table<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut table = Table::new();
    table.load_style(ASCII_FULL);
    for (field, value) in rows {
        table.add_row(vec![field.to_owned(), value]);
    }
    table.to_string()
}

/// A table with a header row.
pub fn grid(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(ASCII_FULL).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

fn stdout_failed(e: &std::io::Error) -> ! {
    // `vmctl list | head` is not an error.
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to stdout: {e}");
    std::process::exit(1);
}
