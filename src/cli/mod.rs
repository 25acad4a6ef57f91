//! runc's command line (clap definitions and dispatch). Errors become
//! runc's log lines and exit codes here, and only here.

mod features;
pub mod log;
mod usage;

use anyhow::{anyhow, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cgroups::cli_args::{EventsArgs, IdArgs, PsArgs, UpdateArgs};
use crate::container::{self, cgroup, ContainerError, CreateOpts, ExecOpts, Root};

/// What `--version` and `features` report: runc's version line is what
/// go-runc parses, so it must read `runc version X`.
pub const RUNC_VERSION: &str = "1.1.5+nsrun.0.1.0";

#[derive(Parser, Debug)]
#[command(
    name = "nsrun",
    about = "OCI runtime with runc's command line",
    disable_version_flag = true
)]
struct Cli {
    /// root directory for storage of container state
    #[arg(long, default_value = "/run/nsrun")]
    root: String,
    /// set the log file to write logs to (default is stderr)
    #[arg(long, default_value = "")]
    log: String,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text")]
    log_format: String,
    /// enable debug logging
    #[arg(long)]
    debug: bool,
    /// enable systemd cgroup support
    #[arg(long = "systemd-cgroup")]
    systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// path to the criu binary (accepted for compatibility; checkpoint is not supported)
    #[arg(long, hide = true)]
    criu: Option<String>,
    /// print the version
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Args, Debug, Clone)]
struct CreateArgs {
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = "")]
    bundle: String,
    /// path to an AF_UNIX socket which will receive the pty master
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// file to write the process id to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// pass N additional file descriptors to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    id: String,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// create a container
    Create {
        #[command(flatten)]
        c: CreateArgs,
        /// accepted: create always detaches
        #[arg(short = 'd', long, hide = true)]
        detach: bool,
    },
    /// executes the user defined process in a created container
    Start { id: String },
    /// create and run a container
    Run {
        #[command(flatten)]
        c: CreateArgs,
        /// detach from the container's process
        #[arg(short = 'd', long)]
        detach: bool,
        /// do not delete the container after it exits
        #[arg(long)]
        keep: bool,
        /// disable the use of the subreaper used to reap reparented processes
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
    },
    /// output the state of a container
    State { id: String },
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill {
        /// send the specified signal to all processes inside the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// delete any resources held by the container often used with detached container
    Delete {
        /// forcibly delete the container if it is still running (uses SIGKILL)
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// lists containers started by runc with the given root
    List {
        /// select one of: table or json
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        /// display only container IDs
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// execute new process inside the container
    Exec(Box<ExecArgs>),
    /// create a new specification file
    Spec {
        /// path to the root of the bundle directory
        #[arg(short = 'b', long, default_value = "")]
        bundle: String,
        /// generate a configuration for a rootless container
        #[arg(long)]
        rootless: bool,
    },
    /// show the enabled features
    Features,
    /// checkpoint a running container
    Checkpoint(CriuArgs),
    /// restore a container from a previous checkpoint
    Restore(CriuArgs),
    /// pause suspends all processes inside the container
    Pause(IdArgs),
    /// resumes all processes that have been previously paused
    Resume(IdArgs),
    /// update container resource constraints
    Update(Box<UpdateArgs>),
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events(EventsArgs),
    /// ps displays the processes running inside a container
    Ps(PsArgs),
}

/// `checkpoint`/`restore`: listed (runc's help.bats asks for their help)
/// but not supported; the container id is the last word, as in runc's usage.
#[derive(Args, Debug)]
struct CriuArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args, Debug)]
struct ExecArgs {
    /// path to the process.json
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    /// allocate a pseudo-TTY
    #[arg(short = 't', long)]
    tty: bool,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    detach: bool,
    /// set environment variables
    #[arg(short = 'e', long)]
    env: Vec<String>,
    /// current working directory in the container
    #[arg(long)]
    cwd: Option<String>,
    /// UID (format: <uid>[:<gid>])
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<String>,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// add a capability to the bounding set for the process
    #[arg(short = 'c', long = "cap")]
    cap: Vec<String>,
    /// run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.
    #[arg(long = "cgroup")]
    cgroup: Vec<String>,
    id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// An error with the exit code it maps to.
struct Failure {
    msg: String,
    code: i32,
}

fn fail(code: i32, e: impl std::fmt::Display) -> Failure {
    Failure {
        msg: e.to_string(),
        code,
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn bundle_dir(b: &str) -> PathBuf {
    absolute(Path::new(if b.is_empty() { "." } else { b }))
}

fn create_opts(c: &CreateArgs, detach: bool, debug: bool, systemd_cgroup: bool) -> CreateOpts {
    CreateOpts {
        bundle: bundle_dir(&c.bundle),
        pid_file: c.pid_file.as_deref().map(absolute),
        console_socket: c.console_socket.as_deref().map(absolute),
        preserve_fds: c.preserve_fds,
        no_pivot: c.no_pivot,
        no_new_keyring: c.no_new_keyring,
        detach,
        debug,
        systemd_cgroup,
    }
}

/// Stage log lines go to our log sink at their own level.
fn sink(level: &str, msg: &str) {
    log::log(level, msg);
}

/// runc's (urfave/cli) help layout: `NAME:` then `   runc CMD - about`,
/// which runc's help.bats and scripts grep for; the binary calls itself
/// runc there as it does in `--version`.
const ROOT_HELP: &str = "NAME:
   runc - Open Container Initiative runtime

runc is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format and is a compliant implementation of the
Open Container Initiative specification.

runc integrates well with existing process supervisors to provide a production
container runtime environment for applications. It can be used with your
existing process monitoring tools and the container will be spawned as a
direct child of the process supervisor.

Containers are configured using bundles. A bundle for a container is a directory
that includes a specification file named \"config.json\" and a root filesystem.
The root filesystem contains the contents of the container.

To start a new instance of a container:

    # runc run [ -b bundle ] <container-id>

Where \"<container-id>\" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host. Providing the bundle directory using \"-b\" is optional. The default
value for \"bundle\" is the current directory.

USAGE:
   runc [global options] command [command options] [arguments...]

VERSION:
   {version}

COMMANDS:
{subcommands}

GLOBAL OPTIONS:
{options}
";

/// The command line with runc's help templates.
fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command()
        .version(RUNC_VERSION)
        .help_template(ROOT_HELP);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for n in names {
        cmd = cmd.mut_subcommand(&n, |c| {
            let t = format!(
                "NAME:\n   runc {n} - {{about}}\n\nUSAGE:\n   runc {n} [command options] [arguments...]\n\nOPTIONS:\n{{options}}\n"
            );
            c.help_template(t)
        });
    }
    cmd
}

/// Parse, run, exit. Called by main for everything but `init`.
pub fn main() -> ! {
    use clap::FromArgMatches;
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = command()
        .try_get_matches_from(std::env::args_os())
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => std::process::exit(usage_error(&e, &argv)),
    };
    if cli.version {
        println!(
            "runc version {RUNC_VERSION}\ncommit: nsrun-{}\nspec: 1.3.0",
            env!("CARGO_PKG_VERSION")
        );
        std::process::exit(0);
    }
    let format = match cli.log_format.as_str() {
        "" | "text" => log::Format::Text,
        "json" => log::Format::Json,
        other => {
            log::stderr_line(
                log::Format::Text,
                "error",
                &format!("invalid log-format: {other}"),
            );
            std::process::exit(1);
        }
    };
    if let Err(e) = log::init(&cli.log, format, cli.debug) {
        let msg = format!("open {}: {}", cli.log, crate::errno::io(&e));
        log::stderr_line(format, "error", &msg);
        std::process::exit(1);
    }
    let code = match dispatch(&cli) {
        Ok(code) => code,
        Err(f) => {
            log::fatal(&f.msg);
            f.code
        }
    };
    std::process::exit(code);
}

/// A command-line mistake as runc reports it (see usage.rs); the exit code.
fn usage_error(e: &clap::Error, argv: &[String]) -> i32 {
    let mut cmd = command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let Some((msg, code)) = usage::words(e, argv, &names) else {
        let _ = e.print();
        return 0;
    };
    if code == 1 {
        let sub = argv
            .iter()
            .skip(1)
            .find(|a| names.contains(a))
            .and_then(|n| cmd.find_subcommand_mut(n).map(|c| c.render_help()));
        let help = sub.unwrap_or_else(|| cmd.render_help());
        print!("Incorrect Usage: {msg}\n\n{help}");
        let _ = std::io::stdout().flush();
    }
    log::stderr_line(usage::early_format(argv), "error", &msg);
    code
}

fn dispatch(cli: &Cli) -> Result<i32, Failure> {
    let Some(cmd) = &cli.cmd else {
        return Err(fail(1, "no command given: see nsrun --help"));
    };
    // runc takes filepath.Abs of --root: an empty one is the cwd.
    let root = Root(absolute(Path::new(if cli.root.is_empty() {
        "."
    } else {
        &cli.root
    })));
    let plain = |r: Result<(), ContainerError>| r.map(|_| 0).map_err(|e| fail(1, e));
    match cmd {
        Cmd::Create { c, .. } => {
            let o = create_opts(c, true, cli.debug, cli.systemd_cgroup);
            container::create(&root, &c.id, &o, &mut sink)
                .map(|_| 0)
                .map_err(|e| fail(1, format!("runc create failed: {e}")))
        }
        Cmd::Run {
            c, detach, keep, ..
        } => {
            let o = create_opts(c, *detach, cli.debug, cli.systemd_cgroup);
            container::run(&root, &c.id, &o, *keep, &mut sink)
                .map_err(|e| fail(1, format!("runc run failed: {e}")))
        }
        Cmd::Start { id } => plain(container::start(&root, id)),
        Cmd::State { id } => {
            let s = container::state_json(&root, id).map_err(|e| fail(1, e))?;
            let _ = std::io::stdout().write_all(s.as_bytes());
            Ok(0)
        }
        Cmd::Kill { all, id, signal } => plain(container::kill(&root, id, signal, *all)),
        Cmd::Delete { force, id } => plain(container::delete(&root, id, *force)),
        Cmd::List { format, quiet } => list(&root, format, *quiet),
        Cmd::Exec(a) => {
            let o = ExecOpts {
                process: a.process.as_deref().map(absolute),
                args: a.command.clone(),
                env: a.env.clone(),
                cwd: a.cwd.clone(),
                user: a.user.clone(),
                additional_gids: a.additional_gids.clone(),
                tty: a.tty,
                detach: a.detach,
                console_socket: a.console_socket.as_deref().map(absolute),
                pid_file: a.pid_file.as_deref().map(absolute),
                preserve_fds: a.preserve_fds,
                debug: cli.debug,
                ignore_paused: a.ignore_paused,
                process_label: a.process_label.clone(),
                apparmor: a.apparmor.clone(),
                no_new_privs: a.no_new_privs,
                caps: a.cap.clone(),
                sub_cgroups: a.cgroup.clone(),
            };
            container::exec(&root, &a.id, &o, &mut sink)
                .map_err(|e| fail(255, format!("exec failed: {e}")))
        }
        Cmd::Spec { bundle, rootless } => spec_cmd(bundle, *rootless)
            .map(|_| 0)
            .map_err(|e| fail(1, e)),
        Cmd::Pause(a) => plain(cgroup::pause(&root, &a.id)),
        Cmd::Resume(a) => plain(cgroup::resume(&root, &a.id)),
        Cmd::Update(a) => plain(cgroup::update(&root, &a.id, a, &mut std::io::stdin())),
        Cmd::Events(a) => plain(cgroup::events(&root, a, &mut std::io::stdout())),
        Cmd::Ps(a) => plain(cgroup::ps(&root, a, &mut std::io::stdout())),
        Cmd::Checkpoint(a) | Cmd::Restore(a) => {
            let id = a.args.last().map(String::as_str).unwrap_or_default();
            if id.is_empty() {
                return Err(fail(1, "container id cannot be empty"));
            }
            root.load(id).map_err(|e| fail(1, e))?;
            Err(fail(
                1,
                "checkpoint/restore is not supported by nsrun (no CRIU support)",
            ))
        }
        Cmd::Features => {
            print!("{}", features::json());
            Ok(0)
        }
    }
}

fn spec_cmd(bundle: &str, rootless: bool) -> Result<()> {
    let path = bundle_dir(bundle).join("config.json");
    if path.exists() {
        return Err(anyhow!("File config.json exists. Remove it first"));
    }
    let body = crate::spec::template::render(
        rootless,
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    std::fs::write(&path, body).map_err(|e| anyhow!("write {}: {e}", path.display()))
}

fn list(root: &Root, format: &str, quiet: bool) -> Result<i32, Failure> {
    if format != "table" && format != "json" {
        return Err(fail(1, "invalid format option"));
    }
    let rows = container::list(root, &mut |w| eprintln!("{w}")).map_err(|e| fail(1, e))?;
    let mut out = String::new();
    if quiet {
        for (s, _, _) in &rows {
            out.push_str(&s.id);
            out.push('\n');
        }
    } else if format == "json" {
        let v: Vec<_> = rows
            .iter()
            .map(|(s, st, o)| s.oci(*st, o.clone()))
            .collect();
        out = if v.is_empty() {
            "null".into()
        } else {
            serde_json::to_string(&v).unwrap_or_default()
        };
        out.push('\n');
    } else {
        out = table(&rows);
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(0)
}

/// Go tabwriter(minwidth 12, tabwidth 1, padding 3, space fill).
fn table(rows: &[(container::Saved, container::Status, String)]) -> String {
    let mut cells: Vec<[String; 6]> =
        vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for (s, st, owner) in rows {
        let pid = if *st == container::Status::Stopped {
            0
        } else {
            s.init_pid
        };
        cells.push([
            s.id.clone(),
            pid.to_string(),
            st.as_str().into(),
            s.bundle.display().to_string(),
            s.created.clone(),
            owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        for (c, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}", r[c], w = *w));
        }
        out.push_str(&r[5]);
        out.push('\n');
    }
    out
}
