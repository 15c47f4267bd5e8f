//! `kefu` — a WeChat customer-service push developer's tools.
//!
//! This file is glue: it parses the command line and hands each subcommand to the module named
//! after it. An error ends with exit status 1 and a one-line reason on stderr. A result is
//! printed on stdout, also one that carries an exit status of its own ([`ExitWith`]: `kefu rules
//! diff` when the rules differ, as `diff` does; `kefu rules validate` and `kefu doctor` when a
//! check fails), so other tools can drive the commands by status and stdout.

mod aes_key;
mod apps;
mod apps_file;
mod aws_args;
mod crypto;
mod dev;
mod doctor;
mod event;
mod faq;
mod faq_csv;
mod out;
mod paint;
mod push;
mod push_args;
mod report;
mod rules;
mod send;
mod text;
mod user;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory as _, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kefu",
    version,
    about = "WeChat Mini Program customer-service push: developer tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the signature WeChat would send: sha1 of the sorted token, timestamp, nonce (and Encrypt).
    Sign(crypto::SignArgs),
    /// Open an Encrypt field (from --encrypt or stdin; a whole push body or API Gateway event also works).
    Decrypt(crypto::DecryptArgs),
    /// Seal a message as WeChat does and print the Encrypt field.
    Encrypt(crypto::EncryptArgs),
    /// Run the whole loop locally: push endpoint, reply worker, in-memory stores, WeChat sandbox.
    Dev(dev::DevArgs),
    /// Act as WeChat: send a signed (and sealed) push to a URL, retrying as WeChat does.
    Push(push::PushCommand),
    /// Check, test, diff, push and pull keyword rules.
    Rules(rules::RulesArgs),
    /// The knowledge base (FAQ): import and export it as CSV, add a question, measure its matcher.
    Faq(faq::FaqArgs),
    /// What users asked and what answered them: outcomes, and the unanswered questions grouped.
    Report(report::ReportArgs),
    /// List, add and remove the mini programs a deployment serves at /wechat/{appid}.
    Apps(apps::AppsArgs),
    /// Put a message for a user on the outbox (the deployment's, or a running kefu dev's).
    Send(send::SendArgs),
    /// Where a user stands: their send window, the sends left, a human agent's hold.
    User(user::UserArgs),
    /// Write a signed API Gateway event (for `sam local invoke -e`, `cargo lambda invoke`).
    Event(event::EventArgs),
    /// Check a deployment's configuration: AppID, secrets, rules, the push URL, the access_token.
    Doctor(doctor::DoctorArgs),
    /// Print the completion script for SHELL (e.g. `kefu completions bash > /etc/bash_completion.d/kefu`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // `kefu`, `kefu rules`: the help, laid out as clap lays it out.
            let _ = err.print();
            return ExitCode::FAILURE;
        }
        Err(err) => return fail(&one_line(&err.render().to_string())),
    };
    let result = match cli.command {
        Command::Dev(args) => runtime().and_then(|rt| rt.block_on(dev::dev(&args))),
        Command::Push(args) => runtime().and_then(|rt| rt.block_on(push::push(&args))),
        Command::Rules(args) => runtime().and_then(|rt| rt.block_on(rules::rules(&args))),
        Command::Apps(args) => runtime().and_then(|rt| rt.block_on(apps::apps(&args))),
        Command::Report(args) => runtime().and_then(|rt| rt.block_on(report::report(&args))),
        Command::Send(args) => runtime().and_then(|rt| rt.block_on(send::send(&args))),
        Command::User(args) => runtime().and_then(|rt| rt.block_on(user::user(&args))),
        Command::Sign(args) => crypto::sign(&args),
        Command::Decrypt(args) => crypto::decrypt(&args),
        Command::Encrypt(args) => crypto::encrypt(&args),
        Command::Event(args) => event::event(&args),
        Command::Faq(args) => faq::faq(&args),
        Command::Doctor(args) => runtime().and_then(|rt| rt.block_on(doctor::doctor(&args))),
        Command::Completions { shell } => completions(shell),
    };
    match result {
        Ok(output) => match out::line(&output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(&format!("error: writing to stdout: {err}")),
        },
        Err(err) if err.downcast_ref::<ExitWith>().is_some() => {
            let code = err.downcast_ref::<ExitWith>().map_or(1, |e| e.code);
            match out::line(&err.to_string()) {
                Ok(()) => ExitCode::from(code),
                Err(err) => fail(&format!("error: writing to stdout: {err}")),
            }
        }
        Err(err) => fail(&aws_args::tell(&format!("error: {err:#}"))),
    }
}

/// A result that is printed on stdout like any other, with a non-zero exit status (e.g. `kefu
/// rules diff` when the rules differ, as `diff` does).
#[derive(Debug)]
pub struct ExitWith {
    pub output: String,
    pub code: u8,
}

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.output)
    }
}

impl std::error::Error for ExitWith {}

/// The completion script of every command and flag, for `shell`.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kefu", &mut script);
    // `main` prints the result with a newline of its own.
    Ok(String::from_utf8(script)?.trim_end().to_owned())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("{reason}");
    ExitCode::FAILURE
}

/// Folds clap's multi-line usage error into one line.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ")
}
