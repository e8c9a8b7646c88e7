//! Hidden generators of the committed `completions/` and `man/` files, and the list of those
//! files that the staleness test compares against.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use super::Ctx;
use crate::error::Error;
use crate::store::write_atomic;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into DIR instead of printing vmctl(1)
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// The shells whose completions are committed, and their file names.
const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "vmctl.bash"),
    (Shell::Zsh, "_vmctl"),
    (Shell::Fish, "vmctl.fish"),
];

#[allow(clippy::unnecessary_wraps)] // the signature of every command's run, for `commands!`
pub fn completions(_: &Ctx, args: &CompletionsArgs) -> Result<(), Error> {
    let text = completion(args.shell);
    crate::output::write_stdout(&String::from_utf8_lossy(&text));
    Ok(())
}

pub fn man(_: &Ctx, args: &ManArgs) -> Result<(), Error> {
    let pages = man_pages();
    match &args.out_dir {
        Some(dir) => {
            for (name, bytes) in pages {
                write_atomic(&dir.join(name), &bytes)?;
            }
        }
        None => crate::output::write_stdout(&String::from_utf8_lossy(&pages[0].1)),
    }
    Ok(())
}

fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = super::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vmctl", &mut bytes);
    bytes
}

/// `vmctl.1` first, then a page per visible subcommand (`vmctl-create.1`, ...).
fn man_pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut bytes = Vec::new();
        man.render(&mut bytes).expect("rendering to memory");
        pages.push((man.get_filename(), bytes));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, pages);
        }
    }
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    walk(&cmd, &mut pages);
    pages
}

/// Every generated file, by its path in the repository.
pub fn generated_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = SHELLS
        .iter()
        .map(|(shell, name)| (format!("completions/{name}"), completion(*shell)))
        .collect();
    files.extend(
        man_pages()
            .into_iter()
            .map(|(name, bytes)| (format!("man/{name}"), bytes)),
    );
    files
}
