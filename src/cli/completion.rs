//! `landscape completion SHELL` and `landscape man`: shell completions and man pages,
//! generated from the same clap definitions that parse the command line, so they never
//! fall behind a flag.

use std::path::PathBuf;

use clap::{Args, CommandFactory, ValueEnum};

use landscape::ExitCode;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape completion bash > /etc/bash_completion.d/landscape
  landscape completion zsh > \"${fpath[1]}/_landscape\"
  landscape completion fish > ~/.config/fish/completions/landscape.fish")]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape man | man -l -                          # read it now
  landscape man --out /usr/local/share/man/man1     # landscape.1 and one page per subcommand")]
pub struct ManArgs {
    /// Write landscape.1 and a page per subcommand (landscape-up.1, …) into this
    /// directory, instead of landscape.1 to standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completion(args: &CompletionArgs) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "landscape", &mut std::io::stdout());
    Ok(ExitCode::Success)
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    let Some(dir) = &args.out else {
        clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
        return Ok(ExitCode::Success);
    };
    std::fs::create_dir_all(dir).map_err(|e| landscape::Error::write(dir, e))?;
    let mut pages = vec![("landscape".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("landscape-{}", sub.get_name());
        // Each page is titled with its full command name, as `git-commit(1)` is.
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        let path = dir.join(format!("{name}.1"));
        landscape::files::write_atomic(&path, &text, false)
            .map_err(|e| landscape::Error::write(&path, e))?;
    }
    Ok(ExitCode::Success)
}
