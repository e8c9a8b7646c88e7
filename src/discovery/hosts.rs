//! The vmctl-managed block (`# BEGIN vmctl` .. `# END vmctl`) in a hosts file, and a small unified diff.

use std::fmt;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::error::cut;

const BEGIN: &str = "# BEGIN vmctl";
const END: &str = "# END vmctl";

/// Why the hosts file or the entries cannot be written as a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostsError {
    /// `# END vmctl` with no open block.
    UnmatchedEnd { line: usize },
    /// `# BEGIN vmctl` never closed.
    UnclosedBegin { line: usize },
    /// `# BEGIN vmctl` while a block is already open.
    NestedBegin { line: usize },
    /// A second complete block after the first one.
    DuplicateBlock { line: usize },
    /// A host name that is empty or contains whitespace, `#` or control characters.
    InvalidName { name: String },
    /// The same name requested with two different addresses.
    ConflictingEntries { name: String },
}

impl fmt::Display for HostsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnmatchedEnd { line } => {
                write!(f, "line {line}: '{END}' without a preceding '{BEGIN}'")
            }
            Self::UnclosedBegin { line } => {
                write!(f, "line {line}: '{BEGIN}' is never closed by '{END}'")
            }
            Self::NestedBegin { line } => {
                write!(f, "line {line}: '{BEGIN}' inside an open vmctl block")
            }
            Self::DuplicateBlock { line } => {
                write!(f, "line {line}: second vmctl block (only one is allowed)")
            }
            Self::InvalidName { name } => write!(f, "invalid host name {:?}", cut(name)),
            Self::ConflictingEntries { name } => {
                write!(f, "host name {name:?} given with more than one address")
            }
        }
    }
}

impl std::error::Error for HostsError {}

/// One line of the input with its byte range (line ending included).
struct Line<'a> {
    start: usize,
    end: usize,
    text: &'a str,
    has_eol: bool,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |raw| {
        let line_start = start;
        start += raw.len();
        let (body, has_eol) = match raw.strip_suffix('\n') {
            Some(body) => (body.strip_suffix('\r').unwrap_or(body), true),
            None => (raw, false),
        };
        Line {
            start: line_start,
            end: start,
            text: body,
            has_eol,
        }
    })
}

/// Location of the existing block.
struct Block {
    start: usize,
    end: usize,
    end_has_eol: bool,
}

fn find_block(text: &str) -> Result<Option<Block>, HostsError> {
    let mut open: Option<(usize, usize)> = None; // (line number, byte start)
    let mut found: Option<Block> = None;
    for (idx, line) in lines(text).enumerate() {
        let line_no = idx + 1;
        match line.text.trim() {
            BEGIN => {
                if open.is_some() {
                    return Err(HostsError::NestedBegin { line: line_no });
                }
                if found.is_some() {
                    return Err(HostsError::DuplicateBlock { line: line_no });
                }
                open = Some((line_no, line.start));
            }
            END => {
                let Some((_, start)) = open.take() else {
                    return Err(HostsError::UnmatchedEnd { line: line_no });
                };
                found = Some(Block {
                    start,
                    end: line.end,
                    end_has_eol: line.has_eol,
                });
            }
            _ => {}
        }
    }
    if let Some((line, _)) = open {
        return Err(HostsError::UnclosedBegin { line });
    }
    Ok(found)
}

/// `"\r\n"` if the first line ending is CRLF, else `"\n"`.
fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
}

/// Sorted by name (then address), exact duplicates removed.
fn normalise(entries: &[(String, Ipv4Addr)]) -> Result<Vec<(&str, Ipv4Addr)>, HostsError> {
    let mut sorted: Vec<(&str, Ipv4Addr)> = Vec::with_capacity(entries.len());
    for (name, ip) in entries {
        if !valid_name(name) {
            return Err(HostsError::InvalidName { name: name.clone() });
        }
        sorted.push((name, *ip));
    }
    sorted.sort_unstable();
    sorted.dedup();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(HostsError::ConflictingEntries {
            name: pair[0].0.to_owned(),
        });
    }
    Ok(sorted)
}

fn render_block(lines: &[String], eol: &str, final_eol: bool) -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push_str(eol);
    for line in lines {
        let _ = write!(out, "{line}{eol}");
    }
    out.push_str(END);
    if final_eol {
        out.push_str(eol);
    }
    out
}

/// The `(name, address)` entries inside the block (none when there is no block); lines that
/// are not `ADDRESS NAME` are skipped.
pub fn block_entries(text: &str) -> Result<Vec<(String, Ipv4Addr)>, HostsError> {
    let Some(block) = find_block(text)? else {
        return Ok(Vec::new());
    };
    Ok(text[block.start..block.end]
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ip = words.next()?.parse().ok()?;
            Some((words.next()?.to_owned(), ip))
        })
        .collect())
}

/// Rewrites the vmctl block of a hosts file to hold exactly `entries`.
///
/// * Inside the block: one `IP<TAB>name` line per entry, sorted by name.
/// * No block yet: it is appended; a line ending is added first if the file lacks one.
/// * `entries` empty: the block is removed (an absent block leaves the file unchanged).
/// * Bytes outside the block are kept; lines written use the file's line ending
///   (CRLF if its first line ending is CRLF, else LF).
/// * Whether the file ends with a line ending is preserved: a block appended to a file
///   without a final newline also ends without one, and removing a block that ends the
///   file without one also drops the line ending before it, so append + remove
///   round-trips byte-for-byte.
/// * Idempotent: calling it again on its output with the same entries changes nothing.
#[allow(clippy::missing_errors_doc)]
pub fn update_block(old: &str, entries: &[(String, Ipv4Addr)]) -> Result<String, HostsError> {
    let lines: Vec<String> = normalise(entries)?
        .iter()
        .map(|(name, ip)| format!("{ip}\t{name}"))
        .collect();
    replace_block(old, &lines)
}

/// The marked block of `old` holding `lines` instead (added at the end, or removed when
/// `lines` is empty), with the line endings and final-newline rules of `update_block`. Other
/// files vmctl shares with the system (`/etc/bootptab`) keep their vmctl lines the same way.
#[allow(clippy::missing_errors_doc)]
pub fn replace_block(old: &str, lines: &[String]) -> Result<String, HostsError> {
    let block = find_block(old)?;
    let eol = line_ending(old);
    let out = match block {
        None if lines.is_empty() => old.to_owned(),
        None if old.is_empty() || old.ends_with('\n') => {
            format!("{old}{}", render_block(lines, eol, true))
        }
        None => format!("{old}{eol}{}", render_block(lines, eol, false)),
        Some(block) if lines.is_empty() => {
            let mut prefix = &old[..block.start];
            let suffix = &old[block.end..];
            if suffix.is_empty() && !block.end_has_eol {
                prefix = prefix
                    .strip_suffix('\n')
                    .map_or(prefix, |p| p.strip_suffix('\r').unwrap_or(p));
            }
            format!("{prefix}{suffix}")
        }
        Some(block) => format!(
            "{}{}{}",
            &old[..block.start],
            render_block(lines, eol, block.end_has_eol),
            &old[block.end..]
        ),
    };
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// Largest LCS table (cells) before falling back to "delete all, insert all".
const MAX_LCS_CELLS: usize = 1 << 22;

/// Line-level edit script from `from` to `to`: deletions come before insertions.
fn edit_script(from: &[&str], to: &[&str]) -> Vec<Op> {
    let prefix = from.iter().zip(to).take_while(|(x, y)| x == y).count();
    let suffix = from[prefix..]
        .iter()
        .rev()
        .zip(to[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let old_mid = &from[prefix..from.len() - suffix];
    let new_mid = &to[prefix..to.len() - suffix];
    let (rows, cols) = (old_mid.len(), new_mid.len());
    let mut ops = vec![Op::Equal; prefix];
    if (rows + 1).saturating_mul(cols + 1) > MAX_LCS_CELLS {
        ops.extend(std::iter::repeat_n(Op::Delete, rows));
        ops.extend(std::iter::repeat_n(Op::Insert, cols));
    } else {
        // lcs(row, col) = LCS length of old_mid[row..] and new_mid[col..]
        let width = cols + 1;
        let mut table = vec![0u32; (rows + 1) * width];
        let lcs = |table: &[u32], row: usize, col: usize| table[row * width + col];
        for row in (0..rows).rev() {
            for col in (0..cols).rev() {
                table[row * width + col] = if old_mid[row] == new_mid[col] {
                    lcs(&table, row + 1, col + 1) + 1
                } else {
                    lcs(&table, row + 1, col).max(lcs(&table, row, col + 1))
                };
            }
        }
        let (mut row, mut col) = (0, 0);
        while row < rows || col < cols {
            if row < rows && col < cols && old_mid[row] == new_mid[col] {
                ops.push(Op::Equal);
                row += 1;
                col += 1;
            } else if col == cols
                || (row < rows && lcs(&table, row + 1, col) >= lcs(&table, row, col + 1))
            {
                ops.push(Op::Delete);
                row += 1;
            } else {
                ops.push(Op::Insert);
                col += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Equal, suffix));
    ops
}

const CONTEXT: usize = 3;

fn push_line(out: &mut String, marker: char, line: &str) {
    out.push(marker);
    if let Some(body) = line.strip_suffix('\n') {
        out.push_str(body.strip_suffix('\r').unwrap_or(body));
        out.push('\n');
    } else {
        out.push_str(line);
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// A unified diff (`--- path`, `+++ path`, hunks with 3 lines of context) between two
/// texts; empty when they are equal. Line endings are shown normalised to `\n`, and a
/// missing final newline is marked like GNU diff does.
#[must_use]
pub fn diff(old: &str, new: &str, path: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);

    // Position in `a` and `b` before each op.
    let mut positions = Vec::with_capacity(ops.len() + 1);
    let (mut i, mut j) = (0, 0);
    for op in &ops {
        positions.push((i, j));
        match op {
            Op::Equal => {
                i += 1;
                j += 1;
            }
            Op::Delete => i += 1,
            Op::Insert => j += 1,
        }
    }
    positions.push((i, j));

    // Group changes into hunks [start, end) over op indices.
    let changes: Vec<usize> = (0..ops.len()).filter(|&k| ops[k] != Op::Equal).collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &k in &changes {
        let start = k.saturating_sub(CONTEXT);
        let end = (k + 1 + CONTEXT).min(ops.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }

    let mut out = format!("--- {path}\n+++ {path}\n");
    for (start, end) in hunks {
        let (a0, b0) = positions[start];
        let (a1, b1) = positions[end];
        let (old_len, new_len) = (a1 - a0, b1 - b0);
        let old_start = if old_len == 0 { a0 } else { a0 + 1 };
        let new_start = if new_len == 0 { b0 } else { b0 + 1 };
        let _ = writeln!(out, "@@ -{old_start},{old_len} +{new_start},{new_len} @@");
        for k in start..end {
            let (i, j) = positions[k];
            match ops[k] {
                Op::Equal => push_line(&mut out, ' ', a[i]),
                Op::Delete => push_line(&mut out, '-', a[i]),
                Op::Insert => push_line(&mut out, '+', b[j]),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lease::fixture;
    use super::*;

    fn entries(list: &[(&str, [u8; 4])]) -> Vec<(String, Ipv4Addr)> {
        list.iter()
            .map(|(name, ip)| ((*name).to_owned(), Ipv4Addr::from(*ip)))
            .collect()
    }

    #[test]
    fn appends_block_to_crlf_file_without_trailing_newline() {
        let old = fixture!("hosts.crlf_no_trailing_newline");
        assert!(!old.ends_with('\n'));
        let want = entries(&[("zeta", [192, 168, 64, 3]), ("alpha", [192, 168, 64, 2])]);
        let new = update_block(old, &want).unwrap();
        assert_eq!(
            new,
            format!(
                "{old}\r\n# BEGIN vmctl\r\n192.168.64.2\talpha\r\n192.168.64.3\tzeta\r\n# END vmctl"
            )
        );
        // outside bytes untouched, idempotent, and removal restores the original exactly
        assert!(new.starts_with(old));
        assert_eq!(update_block(&new, &want).unwrap(), new);
        assert_eq!(update_block(&new, &[]).unwrap(), old);
    }

    #[test]
    fn updates_crlf_block_in_place() {
        let old = fixture!("hosts.crlf_no_trailing_newline");
        let first = update_block(old, &entries(&[("a", [10, 0, 0, 1])])).unwrap();
        let second = update_block(
            &first,
            &entries(&[("b", [10, 0, 0, 2]), ("a", [10, 0, 0, 1])]),
        )
        .unwrap();
        assert_eq!(
            second,
            format!("{old}\r\n# BEGIN vmctl\r\n10.0.0.1\ta\r\n10.0.0.2\tb\r\n# END vmctl")
        );
        assert!(!second.contains("\n\n") && !second.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn replaces_existing_block_keeping_surroundings() {
        let old = fixture!("hosts.with_block");
        let want = entries(&[("vm-b", [192, 168, 64, 11]), ("vm-a", [192, 168, 64, 10])]);
        let new = update_block(old, &want).unwrap();
        assert_eq!(
            new,
            "127.0.0.1\tlocalhost\n# BEGIN vmctl\n192.168.64.10\tvm-a\n192.168.64.11\tvm-b\n# END vmctl\n192.168.1.10\tnas.local\n"
        );
        assert_eq!(update_block(&new, &want).unwrap(), new);
    }

    #[test]
    fn empty_entries_remove_block_only() {
        let old = fixture!("hosts.with_block");
        assert_eq!(
            update_block(old, &[]).unwrap(),
            "127.0.0.1\tlocalhost\n192.168.1.10\tnas.local\n"
        );
        let plain = "127.0.0.1\tlocalhost";
        assert_eq!(update_block(plain, &[]).unwrap(), plain);
        assert_eq!(update_block("", &[]).unwrap(), "");
    }

    #[test]
    fn append_to_empty_and_lf_files() {
        let e = entries(&[("vm", [10, 0, 0, 1])]);
        let block = "# BEGIN vmctl\n10.0.0.1\tvm\n# END vmctl\n";
        assert_eq!(update_block("", &e).unwrap(), block);
        assert_eq!(update_block("", &[]).unwrap(), "");
        let old = "127.0.0.1 localhost\n";
        let new = update_block(old, &e).unwrap();
        assert_eq!(new, format!("{old}{block}"));
        assert_eq!(update_block(&new, &[]).unwrap(), old);
        // no trailing newline, LF
        let new = update_block("a", &e).unwrap();
        assert_eq!(new, "a\n# BEGIN vmctl\n10.0.0.1\tvm\n# END vmctl");
        assert_eq!(update_block(&new, &[]).unwrap(), "a");
    }

    #[test]
    fn duplicate_pairs_collapse_and_conflicts_error() {
        let e = entries(&[("vm", [10, 0, 0, 1]), ("vm", [10, 0, 0, 1])]);
        assert_eq!(
            update_block("", &e).unwrap(),
            "# BEGIN vmctl\n10.0.0.1\tvm\n# END vmctl\n"
        );
        let e = entries(&[("vm", [10, 0, 0, 1]), ("vm", [10, 0, 0, 2])]);
        assert_eq!(
            update_block("", &e).unwrap_err().to_string(),
            "host name \"vm\" given with more than one address"
        );
        for bad in ["", "two words", "tab\tname", "new\nline", "has#hash"] {
            let e = entries(&[(bad, [10, 0, 0, 1])]);
            assert_eq!(
                update_block("", &e),
                Err(HostsError::InvalidName {
                    name: bad.to_owned()
                })
            );
        }
    }

    #[test]
    fn unbalanced_markers_name_the_line() {
        let e = entries(&[("vm", [10, 0, 0, 1])]);
        let cases = [
            (
                "a\n# END vmctl\n",
                HostsError::UnmatchedEnd { line: 2 },
                "line 2: '# END vmctl' without a preceding '# BEGIN vmctl'",
            ),
            (
                "a\nb\n# BEGIN vmctl\n1.2.3.4\tx\n",
                HostsError::UnclosedBegin { line: 3 },
                "line 3: '# BEGIN vmctl' is never closed by '# END vmctl'",
            ),
            (
                "# BEGIN vmctl\n# BEGIN vmctl\n# END vmctl\n",
                HostsError::NestedBegin { line: 2 },
                "line 2: '# BEGIN vmctl' inside an open vmctl block",
            ),
            (
                "# BEGIN vmctl\n# END vmctl\nx\n# BEGIN vmctl\n# END vmctl\n",
                HostsError::DuplicateBlock { line: 4 },
                "line 4: second vmctl block (only one is allowed)",
            ),
            (
                "# BEGIN vmctl\r\n# END vmctl\r\n# END vmctl\r\n",
                HostsError::UnmatchedEnd { line: 3 },
                "line 3: '# END vmctl' without a preceding '# BEGIN vmctl'",
            ),
        ];
        for (text, err, message) in cases {
            assert_eq!(update_block(text, &e), Err(err.clone()), "{text:?}");
            assert_eq!(update_block(text, &[]), Err(err), "{text:?}");
            assert_eq!(update_block(text, &e).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn diff_equal_is_empty() {
        assert_eq!(diff("a\nb\n", "a\nb\n", "/etc/hosts"), "");
    }

    #[test]
    fn diff_of_block_update() {
        let old = fixture!("hosts.with_block");
        let new = update_block(old, &entries(&[("vm-a", [192, 168, 64, 10])])).unwrap();
        assert_eq!(
            diff(old, &new, "/etc/hosts"),
            "--- /etc/hosts\n+++ /etc/hosts\n@@ -1,5 +1,5 @@\n 127.0.0.1\tlocalhost\n # BEGIN vmctl\n-192.168.64.9\tstale-vm\n+192.168.64.10\tvm-a\n # END vmctl\n 192.168.1.10\tnas.local\n"
        );
    }

    #[test]
    fn diff_separate_hunks_and_missing_newline() {
        let (mut old, mut new) = (String::new(), String::new());
        for i in 1..=20 {
            let _ = writeln!(old, "{i}");
            match i {
                2 => new.push_str("two\n"),
                19 => new.push_str("nineteen\n"),
                _ => {
                    let _ = writeln!(new, "{i}");
                }
            }
        }
        new.push_str("end");
        assert_eq!(
            diff(&old, &new, "f"),
            "--- f\n+++ f\n\
             @@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n\
             @@ -16,5 +16,6 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n+end\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn diff_from_and_to_empty() {
        assert_eq!(diff("", "a\n", "p"), "--- p\n+++ p\n@@ -0,0 +1,1 @@\n+a\n");
        assert_eq!(
            diff("a\r\n", "", "p"),
            "--- p\n+++ p\n@@ -1,1 +0,0 @@\n-a\n"
        );
    }

    #[test]
    fn block_entries_round_trip() {
        let entries = vec![
            ("db".to_owned(), Ipv4Addr::new(10, 0, 0, 2)),
            ("web".to_owned(), Ipv4Addr::new(10, 0, 0, 1)),
        ];
        let text = update_block("127.0.0.1 localhost\n", &entries).unwrap();
        assert_eq!(block_entries(&text).unwrap(), entries);
        assert!(block_entries("127.0.0.1 localhost\n").unwrap().is_empty());
    }
}
