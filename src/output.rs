//! The only writer of stdout: a table or bare values for people, one JSON envelope
//! (`{"status":"OK","body":...}`) for scripts. Diagnostics go to stderr.

use std::fmt::Write as _;
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
            .and_then(|()| out.write_all(b"}"))
            .and_then(|()| out.write_all(json_end()))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            stdout_failed(&e);
        }
    }

    /// Report a change: `{"status":"OK","body":...}` for scripts, a line on stderr for people.
    /// The change is made whether or not its report can be written: a full disk or a closed
    /// pipe on stdout does not turn it into a failure.
    pub fn done(&self, body: &Value, message: &str) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = out
                .write_all(envelope_ok(body).as_bytes())
                .and_then(|()| out.flush());
        } else if !self.quiet {
            diag(&format!("{message}\n"));
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.quiet {
            diag(&format!("warning: {message}\n"));
        }
    }

    pub fn note(&self, message: &str) {
        if !self.quiet {
            diag(&format!("note: {message}\n"));
        }
    }

    /// Print an error: the JSON envelope on stdout, or `error:` / `hint:` on stderr.
    pub fn error(&self, message: &str, hint: Option<&str>, code: u32) {
        if self.json {
            let doc = json!({"status": "ERROR", "message": message, "code": code});
            write_stdout(&format!("{doc}{}", end_text()));
        } else {
            let mut text = format!("error: {message}\n");
            if let Some(hint) = hint {
                text = format!("{text}\nhint: {hint}\n");
            }
            diag(&text);
        }
    }

    pub fn error_of(&self, err: &Error) {
        self.error(&err.to_string(), err.hint().as_deref(), err.json_code());
    }
}

/// `{"status":"OK","body":...}` written around `body` without copying it.
fn envelope_ok(body: &Value) -> String {
    format!("{{\"status\":\"OK\",\"body\":{body}}}{}", end_text())
}

/// What follows a JSON document: nothing when stdout is a pipe or a file, as Anka prints it
/// (the Packer plugin parses only the unterminated chunk at the end of its output as the
/// reply, and takes each finished line for a log line); a newline on a terminal, so that the
/// shell's prompt does not start on the document's line. A program never sees a terminal.
fn json_end() -> &'static [u8] {
    use std::io::IsTerminal;
    static ON_TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON_TERMINAL.get_or_init(|| std::io::stdout().is_terminal()) {
        b"\n"
    } else {
        b""
    }
}

fn end_text() -> &'static str {
    if json_end().is_empty() { "" } else { "\n" }
}

/// A two-column field | value table, like `anka show`.
pub fn field_table<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(field, value)| vec![field.to_owned(), clip(value)])
        .collect();
    if let Some(text) = plain_grid(None, &rows) {
        return text;
    }
    let mut table = Table::new();
    table.load_style(ASCII_FULL);
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// The widest cell a table shows; longer text (a hand-edited value, say) is cut, with the
/// rest counted.
const CELL_LIMIT: usize = 1000;

fn clip(cell: String) -> String {
    if cell.len() <= CELL_LIMIT {
        cell
    } else {
        let mut end = CELL_LIMIT;
        while !cell.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} more bytes)", &cell[..end], cell.len() - end)
    }
}

/// A table with a header row.
pub fn grid(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| row.into_iter().map(clip).collect())
        .collect();
    if let Some(text) = plain_grid(Some(header), &rows) {
        return text;
    }
    let mut table = Table::new();
    table.load_style(ASCII_FULL).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// Write a diagnostic to stderr. A stderr that cannot be written (closed, a full disk) loses
/// the diagnostic, never the command: `eprintln!` would panic there.
pub fn diag(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// Write a command's output (what was asked for): `vmctl list | head` is not an error, but a
/// full disk is (exit 1).
pub fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

/// `grid` (or, without a header, `field_table`) drawn directly, byte for byte as comfy-table
/// draws it, when every cell is printable
/// ASCII (one character = one column) on one line: `list` of 10,000 VMs spent most of its time
/// in comfy-table's width and wrapping logic. `None` for anything else.
fn plain_grid(header: Option<&[&str]>, rows: &[Vec<String>]) -> Option<String> {
    // (Formatting widths stop at 65,535: a longer cell is comfy-table's, after `clip`.)
    let plain =
        |cell: &str| cell.len() <= CELL_LIMIT && cell.bytes().all(|b| (b' '..=b'~').contains(&b));
    let columns = header.map_or_else(|| rows.first().map_or(0, Vec::len), <[&str]>::len);
    if rows.is_empty()
        || columns == 0
        || !header.unwrap_or_default().iter().all(|h| plain(h))
        || !rows
            .iter()
            .all(|row| row.len() == columns && row.iter().all(|c| plain(c)))
    {
        return None;
    }
    // comfy-table gives an all-empty column one character.
    let mut widths: Vec<usize> = match header {
        Some(header) => header.iter().map(|h| h.len().max(1)).collect(),
        None => vec![1; columns],
    };
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let rule = |edge: char, fill: char, cross: char| {
        let mut line = String::new();
        line.push(edge);
        for (i, width) in widths.iter().enumerate() {
            if i > 0 {
                line.push(cross);
            }
            line.extend(std::iter::repeat_n(fill, width + 2));
        }
        line.push(edge);
        line
    };
    let border = rule('+', '-', '+');
    let between = rule('|', '-', '+');
    let inner: usize = widths.iter().map(|w| w + 3).sum::<usize>() - 1;
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        out.push('|');
        for (cell, width) in cells.zip(&widths) {
            let _ = write!(out, " {cell:<width$} |");
        }
        out.push('\n');
    };
    let mut text = String::with_capacity((inner + 3) * (rows.len() * 2 + 4));
    text.push_str(&border);
    text.push('\n');
    if let Some(header) = header {
        line(&mut text, &mut header.iter().copied());
        // `+====+` across the whole width under the header.
        text.push('+');
        text.extend(std::iter::repeat_n('=', inner));
        text.push_str("+\n");
    }
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push_str(&between);
            text.push('\n');
        }
        line(&mut text, &mut row.iter().map(String::as_str));
    }
    text.push_str(&border);
    Some(text)
}

fn stdout_failed(e: &std::io::Error) -> ! {
    // `vmctl list | head` is not an error.
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    diag(&format!("error: writing to stdout: {e}\n"));
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// comfy-table's drawing of the same table: what `plain_grid` must reproduce.
    fn comfy(header: &[&str], rows: &[Vec<String>]) -> String {
        let mut table = Table::new();
        table.load_style(ASCII_FULL).set_header(header.to_vec());
        for row in rows {
            table.add_row(row.clone());
        }
        table.to_string()
    }

    #[test]
    fn plain_grid_draws_what_comfy_table_draws() {
        let cases: Vec<(Vec<&str>, Vec<Vec<&str>>)> = vec![
            (vec!["name"], vec![vec!["web"]]),
            (
                vec!["a", "longer header"],
                vec![vec!["x", ""], vec!["a much longer cell", "-"]],
            ),
            (
                vec!["name", "uuid", "ip"],
                vec![
                    vec!["vm1", "1234", "192.168.64.2"],
                    vec!["vm2", "", "-"],
                    vec!["v", "u u", "i"],
                ],
            ),
            (vec!["", "b"], vec![vec!["", ""]]),
        ];
        for (header, rows) in cases {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| r.into_iter().map(str::to_owned).collect())
                .collect();
            assert_eq!(
                plain_grid(Some(&header), &rows).as_deref(),
                Some(comfy(&header, &rows).as_str()),
                "{header:?} {rows:?}"
            );
            let mut table = Table::new();
            table.load_style(ASCII_FULL);
            for row in &rows {
                table.add_row(row.clone());
            }
            assert_eq!(
                plain_grid(None, &rows).as_deref(),
                Some(table.to_string().as_str()),
                "{rows:?}"
            );
        }
        // Anything else is left to comfy-table.
        assert!(plain_grid(Some(&["a"]), &[vec!["é".into()]]).is_none());
        assert!(plain_grid(Some(&["a"]), &[vec!["x\ny".into()]]).is_none());
        assert!(plain_grid(Some(&["a"]), &[]).is_none());
        assert!(plain_grid(None, &[]).is_none());
    }
}
