//! `onair`: OnAir without the window. Watches channels into the event log (`run`), reads, exports and
//! imports it, and manages the database.

use std::future::Future;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use onair::format::{self, Format};
use onair::import::import_jsonl;
use onair::paths;
use onair::watch::ChannelSpec;
use onair_core::{ConnectionId, ConnectionState, EventKind, Offset, Platform};
use onair_kick::simulator::{Simulator, SimulatorOptions};
use onair_kick::{KickPlatform, KickRest, RestConfig};
use onair_pusher::PusherConfig;
use onair_store::{EventQuery, Store};
use tokio::io::BufReader;
use tokio_util::sync::CancellationToken;

mod login;

/// OnAir: every Kick, Twitch and Discord event of your channels in one place.
#[derive(Parser)]
#[command(name = "onair", version, about, long_about = None)]
struct Cli {
    /// The database file [default: the OnAir data folder's onair.db]
    #[arg(long, global = true, env = paths::DB_ENV, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Log more (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The settings file [default: config.toml in the OnAir config folder, if there]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Watch channels and record their events until Ctrl-C (or --for).
    Run(RunArgs),
    /// Print stored events, oldest first (without --after: the newest --limit of them).
    Events(EventsArgs),
    /// Import events from a JSONL file (`-` for stdin); events already stored are skipped.
    Import {
        /// The file, as written by `onair events --format jsonl`.
        file: PathBuf,
    },
    /// Record a simulated Kick stream (no account or internet needed): for demos and overlay tests.
    Simulate(SimulateArgs),
    /// Sign in to a platform (the browser opens on its sign-in page).
    Login(login::LoginArgs),
    /// Sign out of a platform: its tokens are revoked and forgotten.
    Logout {
        /// The platform: kick, twitch or discord (discord: forgets the bot token).
        #[arg(value_parser = parse_platform)]
        platform: Platform,
    },
    /// The relay (Socket.IO for overlays and bots).
    Relay {
        #[command(subcommand)]
        command: RelayCommand,
    },
    /// Inspect or maintain the database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// A channel to watch: kick:SLUG (kick:SLUG@CHANNEL_ID/CHATROOM_ID to give its ids by hand),
    /// twitch:LOGIN, or discord:SERVER_ID[/CHANNEL_ID,...] (the channels whose messages are recorded);
    /// repeat for more [default: the settings file's `watch` list, else your own channels when signed in]
    #[arg(long = "watch", value_name = "CHANNEL")]
    watch: Vec<ChannelSpec>,
    /// Stop after this long (30s, 2h...); without it, run until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// How long a connection that gave up waits before trying again.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    retry_failed_after: Duration,
    /// Also serve the events to overlays and bots over Socket.IO [default address: 127.0.0.1:41490]
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = RELAY_DEFAULT)]
    relay: Option<std::net::SocketAddr>,
}

/// The relay's default address (loopback).
const RELAY_DEFAULT: &str = "127.0.0.1:41490";

#[derive(clap::Args)]
struct SimulateArgs {
    /// Events per second, on average.
    #[arg(long, value_name = "N", default_value_t = 4.0)]
    rate: f64,
    /// The stream's seed: the same seed plays the same stream.
    #[arg(long, value_name = "N", default_value_t = 2607)]
    seed: u64,
    /// Stop after this long (30s, 5m...); without it, run until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Also serve the events to overlays and bots over Socket.IO [default address: 127.0.0.1:41490]
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = RELAY_DEFAULT)]
    relay: Option<std::net::SocketAddr>,
}

#[derive(clap::Args)]
struct EventsArgs {
    /// Only events after this offset (page on with the last offset printed; 0 = from the start).
    #[arg(long, value_name = "OFFSET")]
    after: Option<i64>,
    /// Only these kinds (repeat, or separate with commas), e.g. --kind follow,subscription.
    #[arg(long, value_name = "KIND", value_delimiter = ',', value_parser = parse_kind)]
    kind: Vec<EventKind>,
    /// Only this platform: kick, twitch or discord.
    #[arg(long, value_name = "PLATFORM", value_parser = parse_platform)]
    platform: Option<Platform>,
    /// Only this channel (its name or its platform id).
    #[arg(long, value_name = "CHANNEL")]
    channel: Option<String>,
    /// Only chat messages containing these words (accents and case ignored; `word*` matches a prefix).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Only events received since this time: RFC 3339 (2026-11-22T18:00:00Z) or an age (15m, 2h, 3days).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only events received before this time (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// At most this many events (0 = no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand)]
enum RelayCommand {
    /// Print the token overlays and bots connect with (made on first use; ONAIR_RELAY_TOKEN overrides).
    Token,
    /// List the overlays and bots connected to the running relay.
    Clients {
        /// The running relay's address.
        #[arg(long, value_name = "ADDR:PORT", default_value = RELAY_DEFAULT)]
        addr: std::net::SocketAddr,
        /// Print the list as JSON (as `GET /clients` gives it).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Print the database's path.
    Path,
    /// Print what the database holds.
    Stats,
    /// Compact the database file.
    Vacuum,
    /// Move a database OnAir cannot use (damaged, or not OnAir's) aside, so a new one starts in its place.
    MoveAside,
}

fn parse_kind(s: &str) -> Result<EventKind, String> {
    s.parse().map_err(|_: onair_core::UnknownKind| {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown event kind `{s}`; the kinds are: {}", names.join(", "))
    })
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse().map_err(|e: onair_core::UnknownPlatform| e.to_string())
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.to_utc());
    }
    match humantime::parse_duration(s) {
        Ok(age) => chrono::Duration::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .ok_or_else(|| format!("`{s}` is too far back")),
        Err(_) => Err(format!(
            "`{s}` is neither a time (2026-11-22T18:00:00Z) nor an age (15m, 2h, 3days)"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "onair=debug,onair_store=debug,onair_kick=debug,onair_pusher=debug,info",
        _ => "trace",
    };
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The WebSocket library prints whole frames (private-channel auth included) at trace level.
        .and(filter_fn(|meta| {
            onair_pusher::log_line_allowed(meta.target(), meta.level())
        }));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .init();
}

fn db_path(cli: &Cli) -> Result<PathBuf> {
    paths::db_path(cli.db.clone())
        .context("cannot find your home folder to keep the database in; pass --db PATH or set ONAIR_DB")
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let path = db_path(&cli)?;
    let config = cli.config.clone();
    let settings = || onair::config::load(config.as_deref());
    match cli.command {
        None => overview(&path).await,
        Some(Command::Run(args)) => watch(&path, args, settings()?).await,
        Some(Command::Simulate(args)) => simulate(&path, args).await,
        Some(Command::Login(args)) => login::login(args, &settings()?.1).await,
        Some(Command::Logout { platform }) => login::logout(platform, &settings()?.1).await,
        Some(Command::Events(args)) => events(&path, args).await,
        Some(Command::Import { file }) => import(&path, &file).await,
        Some(Command::Relay {
            command: RelayCommand::Token,
        }) => {
            let token = relay_token().await?;
            println!("{}", secrecy::ExposeSecret::expose_secret(&token));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Relay {
            command: RelayCommand::Clients { addr, json },
        }) => relay_clients(addr, json).await,
        Some(Command::Db {
            command: DbCommand::Path,
        }) => {
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Db {
            command: DbCommand::Stats,
        }) => stats(&path).await,
        Some(Command::Db {
            command: DbCommand::MoveAside,
        }) => move_aside(&path).await,
        Some(Command::Db {
            command: DbCommand::Vacuum,
        }) => {
            let store = Store::open_existing(&path).await?;
            let freed = store.vacuum().await?;
            store.close().await;
            println!("vacuumed {}: {freed} bytes freed", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where a command says what happens while it runs.
#[derive(Clone, Copy)]
enum Output {
    /// With the rest of its running commentary (`run`, `simulate`).
    Stdout,
    /// Apart from its result (`import`, whose stdout is the report).
    Stderr,
}

/// Says each change of the store's health as it happens: recording held up (why, and what to do) and
/// recording again.
fn report_health(store: &Store, output: Output) {
    tokio::spawn(onair::health::follow(store.writer().status(), move |notice| {
        let line = format!("{} store: {notice}", chrono::Local::now().format("%H:%M:%S"));
        match output {
            Output::Stdout => println!("{line}"),
            Output::Stderr => eprintln!("{line}"),
        }
    }));
}

/// `onair db move-aside`: only a file OnAir refuses is moved (with its -wal and -shm), never a healthy
/// database.
async fn move_aside(path: &std::path::Path) -> Result<ExitCode> {
    match Store::open_existing(path).await {
        Ok(store) => {
            store.close().await;
            bail!(
                "{} is a healthy OnAir database; nothing was moved (to start afresh elsewhere, pass --db PATH)",
                path.display()
            );
        }
        Err(e) if e.is_unusable_file() => {
            let aside = onair_store::move_aside(path)?;
            println!(
                "moved {} aside to {}: OnAir starts a new database at {} the next time it records",
                path.display(),
                aside.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

async fn watch(
    path: &std::path::Path,
    args: RunArgs,
    (settings_file, settings): (Option<PathBuf>, onair::config::Config),
) -> Result<ExitCode> {
    let specs = if args.watch.is_empty() {
        let file = settings_file.as_deref().map(|p| p.display().to_string());
        settings
            .watch
            .iter()
            .map(|spec| {
                spec.parse::<ChannelSpec>()
                    .with_context(|| format!("in {}", file.as_deref().unwrap_or("the settings")))
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        args.watch
    };
    let kick_account = login::signed_in(Platform::Kick).await;
    let mut specs = specs;
    if specs.is_empty() {
        for platform in [Platform::Kick, Platform::Twitch] {
            let account = match platform {
                Platform::Kick => kick_account.clone(),
                _ => login::signed_in(platform).await,
            };
            if let Some(account) = account
                && let Some(own) = &account.own_channel
            {
                println!(
                    "no channel given: watching your own, {platform}:{own} (signed in as {})",
                    account.session.account.display_name
                );
                specs.push(format!("{platform}:{own}").parse::<ChannelSpec>()?);
            }
        }
    }
    if specs.is_empty() {
        let file = onair::config::config_dir()
            .map(|dir| dir.join(onair::config::CONFIG_FILE).display().to_string())
            .unwrap_or_else(|| onair::config::CONFIG_FILE.to_owned());
        bail!(
            "nothing to watch: pass --watch kick:SLUG, --watch twitch:LOGIN or --watch discord:SERVER_ID, or \
             list the channels in {file} (watch = [\"kick:SLUG\"])"
        );
    }
    let mut kick_specs = Vec::new();
    let mut twitch_logins = Vec::new();
    let mut discord_specs: Vec<onair::discord::DiscordSpec> = Vec::new();
    for spec in specs {
        match spec {
            ChannelSpec::Kick(spec) => kick_specs.push(spec),
            ChannelSpec::Twitch(login) if !twitch_logins.contains(&login) => twitch_logins.push(login),
            ChannelSpec::Twitch(_) => {}
            ChannelSpec::Discord(spec) => {
                match discord_specs.iter_mut().find(|s| s.guild_id == spec.guild_id) {
                    Some(known) => {
                        for channel in spec.channels {
                            if !known.channels.contains(&channel) {
                                known.channels.push(channel);
                            }
                        }
                    }
                    None => discord_specs.push(spec),
                }
            }
        }
    }
    let store = Arc::new(Store::open(path).await?);
    report_health(&store, Output::Stdout);
    // Twitch first: it needs a sign-in, and a missing one should stop the run before anything connects.
    let twitch = if twitch_logins.is_empty() {
        None
    } else {
        let accounts = login::accounts().await?;
        let recorded = Arc::new(onair::twitch_signin::RecordedInStore(store.community_reader()));
        let access =
            onair::twitch_signin::twitch_access(&settings.twitch.config(), &accounts, Some(recorded))
                .await
                .context("Twitch cannot be watched")?;
        let mut channels = Vec::new();
        for login in &twitch_logins {
            let channel = onair::watch::resolve_twitch(&store, access.platform.as_ref(), login).await?;
            println!(
                "watching twitch:{} (broadcaster {}) as {}",
                channel.slug,
                channel.platform_id,
                access.account().login
            );
            channels.push(channel);
        }
        Some((access, channels))
    };
    // Discord next: it needs the bot's token, and a missing one should stop the run before anything
    // connects.
    let discord = if discord_specs.is_empty() {
        None
    } else {
        Some(discord_shards(&store, &settings, &discord_specs).await?)
    };
    let kick = Arc::new(KickPlatform::new(
        KickRest::new(RestConfig::from_env(settings.kick.api_url.as_deref()))?,
        PusherConfig::new(onair_kick::endpoint(settings.kick.pusher_url.as_deref())),
        login::kick_app(&settings).await,
    ));
    let mut kick_channels = Vec::new();
    for spec in &kick_specs {
        let channel = onair::watch::resolve(&store, kick.as_ref(), spec).await?;
        println!(
            "watching kick:{} (channel {}, chatroom {})",
            channel.slug,
            channel.platform_id,
            channel.chatroom_id.as_deref().unwrap_or("?")
        );
        kick_channels.push(channel);
    }
    let renewing = kick_account
        .filter(|_| !kick_channels.is_empty())
        .map(|account| login::keep_fresh(account, kick.clone()));
    let stop = stop_signal(args.duration);
    give_up_writes_after(stop.clone(), &store);
    let validating = twitch.as_ref().map(|(access, _)| {
        let login = access.login.clone();
        let helix = access.helix().clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = onair_twitch::platform::keep_valid(&login, &helix, stop.cancelled_owned()).await {
                eprintln!("warning: {e}");
            }
        })
    });
    let relay = match args.relay {
        Some(addr) => Some(start_relay(addr, &store).await?),
        None => None,
    };
    let kick_run = async {
        if kick_channels.is_empty() {
            return Ok(onair::watch::WatchSummary::default());
        }
        record(
            &store,
            kick.as_ref(),
            &kick_channels,
            args.retry_failed_after,
            relay.as_ref(),
            stop.clone().cancelled_owned(),
        )
        .await
    };
    let twitch_run = async {
        let Some((access, channels)) = &twitch else {
            return Ok(onair::watch::WatchSummary::default());
        };
        record(
            &store,
            access.platform.as_ref(),
            channels,
            args.retry_failed_after,
            relay.as_ref(),
            stop.clone().cancelled_owned(),
        )
        .await
    };
    let discord_run = async {
        let Some(plan) = &discord else {
            return Ok::<_, onair::watch::WatchError>(onair::watch::WatchSummary::default());
        };
        let runs = plan.shards.iter().map(|shard| {
            let guilds = shard.guilds();
            let stop = stop.clone();
            let store = &store;
            let relay = relay.as_ref();
            let retry = args.retry_failed_after;
            async move { record(store, shard, &guilds, retry, relay, stop.cancelled_owned()).await }
        });
        let mut total = onair::watch::WatchSummary::default();
        for summary in futures_util::future::join_all(runs).await {
            let summary = summary?;
            total.events += summary.events;
            total.state_changes += summary.state_changes;
        }
        Ok(total)
    };
    let (kick_summary, twitch_summary, discord_summary) = with_relay(&store, relay.as_ref(), async {
        tokio::join!(kick_run, twitch_run, discord_run)
    })
    .await;
    if let Some(relay) = relay {
        relay.shutdown(RELAY_RETRY_AFTER).await;
    }
    if let Some(renewing) = renewing {
        renewing.stop().await;
    }
    if let Some(validating) = validating {
        let _ = validating.await;
    }
    if let Some((access, _)) = twitch {
        access.close().await;
    }
    // Every watch ended with its events committed, or not recorded when writes still failed at the end of
    // the grace: the writer's counts are what this run recorded and what it could not.
    let status = store.writer().status();
    close(store).await;
    let summaries: [onair::watch::WatchSummary; 3] = [kick_summary?, twitch_summary?, discord_summary?];
    let received: u64 = summaries.iter().map(|s| s.events).sum();
    let status = status.borrow().clone();
    if status.unrecorded == 0 {
        println!(
            "stopped: {}",
            received_and_recorded(received, status.committed, path)
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("stopped: {}", some_not_recorded(received, &status, path));
    Ok(ExitCode::FAILURE)
}

/// How long `onair run`, once asked to stop, keeps retrying writes that fail before it stops without the
/// events that wait (a read-only disk, say, which would otherwise hold it up for ever).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Tells the store's writer to stop retrying [`STOP_GRACE`] after `stop`: a healthy writer goes on
/// committing what was received, a failing one gives up on it (counted, and said at the end).
fn give_up_writes_after(stop: CancellationToken, store: &Store) {
    let writer = store.writer();
    tokio::spawn(async move {
        stop.cancelled().await;
        tokio::time::sleep(STOP_GRACE).await;
        if writer.status().borrow().failing.is_some() {
            eprintln!(
                "stopping: writes still fail after {}; stopping without the events that wait",
                humantime::format_duration(STOP_GRACE)
            );
        }
        writer.stop_retrying();
    });
}

/// `N events received, M recorded in PATH; K could not be recorded, because ...: WHY`, for a run that
/// stopped while writes failed (`status` is the writer's at the end).
fn some_not_recorded(received: u64, status: &onair_store::WriterStatus, path: &std::path::Path) -> String {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let (recorded, unrecorded) = (status.committed, status.unrecorded);
    let repeats = match received.saturating_sub(recorded).saturating_sub(unrecorded) {
        0 => String::new(),
        n => format!(" ({n} already stored)"),
    };
    let why = match &status.failing {
        Some(failure) => format!("{} (SQLite says: {})", failure.cause.what(), failure.error),
        None => "writing to the database failed".to_owned(),
    };
    format!(
        "{received} event{} received, {recorded} recorded in {}{repeats}; {unrecorded} could not be recorded, \
         because writes still failed when OnAir stopped: {why}",
        plural(received),
        path.display()
    )
}

/// `N events received and recorded in PATH`, saying how many were already stored when some were (a
/// platform's repeat, or another process watching the same channel).
fn received_and_recorded(received: u64, recorded: u64, path: &std::path::Path) -> String {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let repeats = received.saturating_sub(recorded);
    if repeats == 0 {
        format!(
            "{received} event{} received and recorded in {}",
            plural(received),
            path.display()
        )
    } else {
        format!(
            "{received} event{} received, {recorded} recorded in {} ({repeats} already stored)",
            plural(received),
            path.display()
        )
    }
}

/// The Discord shards serving `specs`' servers: the bot's token (else a clear error), each server looked
/// up and its chosen channels checked, then the shard plan from `GET /gateway/bot`, all said on stdout.
async fn discord_shards(
    store: &Store,
    settings: &onair::config::Config,
    specs: &[onair::discord::DiscordSpec],
) -> Result<onair_discord::ShardPlan> {
    let accounts = login::accounts().await?;
    let Some(token) = onair::discord::bot_token(&accounts).await? else {
        bail!(
            "Discord cannot be watched: OnAir has no bot token. Run `onair login discord` to paste your bot's \
             token (or set {})",
            onair_discord::config::BOT_TOKEN_ENV
        );
    };
    let discord = onair_discord::DiscordPlatform::new(settings.discord.config(), token)?;
    let mut watched = onair_discord::Watched::default();
    for spec in specs {
        let (guild, channels) = onair::discord::resolve(store, &discord, spec).await?;
        let messages = if channels.is_empty() {
            "no messages (add /CHANNEL_ID,... to record a channel's messages)".to_owned()
        } else {
            format!("messages in {}", channels.join(", "))
        };
        println!(
            "watching discord:{} ({}): joins, leaves, bans and {messages}",
            guild.platform_id, guild.slug
        );
        watched.add(guild, spec.channels.iter().cloned());
    }
    let plan = discord
        .plan(&watched)
        .await
        .context("Discord cannot be watched")?;
    let starts = plan.starts_left();
    println!(
        "Discord: {} shard{} ({} recommended), opening {}; new sessions left: {} of {} (back to {} in {})",
        plan.total,
        if plan.total == 1 { "" } else { "s" },
        plan.gateway.shards,
        plan.shards
            .iter()
            .map(|s| s.shard().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        starts.remaining,
        starts.total,
        starts.total,
        humantime::format_duration(Duration::from_secs(starts.resets_in.as_secs()))
    );
    Ok(plan)
}

/// Cancelled at Ctrl-C (or SIGTERM) or at the end of `duration`.
fn stop_signal(duration: Option<Duration>) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::select! {
                () = async { tokio::time::sleep(duration.unwrap_or_default()).await }, if duration.is_some() => {}
                () = interrupted() => {
                    eprintln!("stopping: committing what was received (Ctrl-C again to quit at once)");
                    tokio::spawn(async {
                        interrupted().await;
                        eprintln!("quit without waiting: events not yet committed are lost");
                        std::process::exit(130);
                    });
                }
            }
            stop.cancel();
        }
    });
    stop
}

/// Records `channels` into `store` until `stop`, printing each state change and warning (and telling the
/// relay's clients each change).
async fn record(
    store: &Store,
    platform: &dyn onair_core::Realtime,
    channels: &[onair_core::ChannelRef],
    retry_failed_after: Duration,
    relay: Option<&onair_relay::Relay>,
    stop: impl Future<Output = ()>,
) -> Result<onair::watch::WatchSummary, onair::watch::WatchError> {
    let options = onair::watch::WatchOptions {
        retry_failed_after,
        reconnect: None,
    };
    onair::watch::watch(
        store,
        platform,
        channels,
        options,
        stop,
        |id, state| {
            print_state(id, state, retry_failed_after);
            if let Some(relay) = relay {
                relay.set_status(id, state);
            }
        },
        print_warnings,
    )
    .await
}

/// The events a connection cannot receive, one line each.
fn print_warnings(id: &ConnectionId, warnings: &[String]) {
    let now = chrono::Local::now().format("%H:%M:%S");
    for warning in warnings {
        println!("{now} {id}: warning: {warning}");
    }
}

/// `onair simulate`: a simulated Kick stream recorded like a real one.
async fn simulate(path: &std::path::Path, args: SimulateArgs) -> Result<ExitCode> {
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        bail!("--rate must be above 0 and at most 10000 events per second");
    }
    let simulator = Simulator::start(SimulatorOptions {
        events_per_second: args.rate,
        seed: args.seed,
    })
    .await
    .context("could not start the simulator's local server")?;
    let store = Arc::new(Store::open(path).await?);
    report_health(&store, Output::Stdout);
    let kick = simulator.platform()?;
    let channel = onair::watch::resolve(&store, &kick, &Simulator::watch_spec()).await?;
    println!(
        "simulating a Kick stream on kick:{} at about {} events/s (local server {}); Ctrl-C to stop",
        channel.slug,
        args.rate,
        simulator.pusher_url()
    );
    // The stream goes offline before the connection closes, so that is recorded too.
    let relay = match args.relay {
        Some(addr) => Some(start_relay(addr, &store).await?),
        None => None,
    };
    let stop = stop_signal(args.duration);
    let channels = [channel];
    let recording = record(
        &store,
        &kick,
        &channels,
        Duration::from_secs(5),
        relay.as_ref(),
        async {
            stop.cancelled().await;
            simulator.end_stream().await;
        },
    );
    let summary = with_relay(&store, relay.as_ref(), recording).await;
    if let Some(relay) = relay {
        relay.shutdown(RELAY_RETRY_AFTER).await;
    }
    simulator.stop().await;
    let recorded = store.writer().status().borrow().committed;
    close(store).await;
    let summary = summary?;
    println!(
        "stopped: simulated {} (see them: onair events --channel {})",
        received_and_recorded(summary.events, recorded, path),
        onair_kick::simulator::DEMO_SLUG
    );
    Ok(ExitCode::SUCCESS)
}

/// How long clients are told to wait before reconnecting when the relay stops.
const RELAY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The relay's token (ONAIR_RELAY_TOKEN, else the one kept in the secret store, made on first use).
async fn relay_token() -> Result<secrecy::SecretString> {
    let secrets = paths::secrets()
        .await
        .context("cannot find your home folder, where the relay's token is kept")?;
    Ok(onair::relay::relay_token(&secrets).await?)
}

/// Starts the relay at `addr`, replaying from `store`.
async fn start_relay(addr: std::net::SocketAddr, store: &Arc<Store>) -> Result<onair_relay::Relay> {
    let token = relay_token().await?;
    let mut options = onair_relay::RelayOptions::new(token);
    options.addr = addr;
    options.metrics = onair::metrics::install();
    let stored = Arc::new(onair::relay::StoreEvents(store.clone()));
    let relay = onair_relay::Relay::start(options, Some(stored)).await?;
    println!(
        "relay: Socket.IO on http://{} (token: `onair relay token` prints it; clients: `onair relay clients`; \
         Prometheus: /metrics)",
        relay.local_addr()
    );
    if !addr.ip().is_loopback() {
        println!(
            "relay: warning: it listens beyond this computer; anyone on the network who has the token can \
             read your events"
        );
    }
    Ok(relay)
}

/// `onair relay clients`: who is connected to the relay running at `addr`.
async fn relay_clients(addr: std::net::SocketAddr, json: bool) -> Result<ExitCode> {
    let token = relay_token().await?;
    let list = onair::relay::connected_clients(addr, &token).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if list.clients.is_empty() {
        println!("no clients are connected to the relay at {addr}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<22} {:<21} {:<19} {:>8}  {:<30} USER AGENT",
        "ID", "ADDRESS", "CONNECTED", "EVENTS", "SUBSCRIBED TO"
    );
    for client in &list.clients {
        let filter = match &client.filter {
            None => "(nothing yet)".to_owned(),
            Some(f) => describe_filter(f),
        };
        println!(
            "{:<22} {:<21} {:<19} {:>8}  {:<30} {}",
            client.id,
            client.address.as_deref().unwrap_or("?"),
            client
                .connected_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            client.events_sent,
            filter,
            client.user_agent.as_deref().unwrap_or("-")
        );
    }
    println!(
        "{} client{} connected",
        list.clients.len(),
        if list.clients.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// A filter in a few words: `everything`, or `kinds follow,raid; platforms kick`.
fn describe_filter(filter: &onair_relay::Filter) -> String {
    let join = |items: Vec<String>| items.join(",");
    let mut parts = Vec::new();
    if !filter.platforms.is_empty() {
        parts.push(format!(
            "platforms {}",
            join(filter.platforms.iter().map(|p| p.to_string()).collect())
        ));
    }
    if !filter.kinds.is_empty() {
        parts.push(format!(
            "kinds {}",
            join(filter.kinds.iter().map(|k| k.to_string()).collect())
        ));
    }
    if !filter.channels.is_empty() {
        parts.push(format!("channels {}", join(filter.channels.clone())));
    }
    if parts.is_empty() {
        "everything".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Runs `work`, feeding the relay (when there is one) every event committed meanwhile, and the last ones
/// once `work` is done.
async fn with_relay<T>(
    store: &Store,
    relay: Option<&onair_relay::Relay>,
    work: impl Future<Output = T>,
) -> T {
    let Some(relay) = relay else { return work.await };
    let done = CancellationToken::new();
    let feeding = onair::relay::feed(store, relay, done.clone().cancelled_owned());
    let working = async {
        let out = work.await;
        done.cancel();
        out
    };
    let (out, fed) = tokio::join!(working, feeding);
    if let Err(e) = fed {
        eprintln!("warning: the relay stopped receiving events: {e}");
    }
    out
}

/// Closes the store once nothing else holds it.
async fn close(store: Arc<Store>) {
    match Arc::into_inner(store) {
        Some(store) => store.close().await,
        None => tracing::warn!("the store is still in use; it closes when the program ends"),
    }
}

/// Ctrl-C, or (on Unix) SIGTERM from a service manager.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One line per state change, for people.
fn print_state(id: &ConnectionId, state: &ConnectionState, retry_failed_after: Duration) {
    let now = chrono::Local::now().format("%H:%M:%S");
    let what = match state {
        ConnectionState::Connecting => "connecting".to_owned(),
        ConnectionState::Connected { .. } => "connected".to_owned(),
        ConnectionState::Reconnecting { attempt, next_in } => {
            format!("no connection; try {attempt} in {:.1} s", next_in.as_secs_f64())
        }
        ConnectionState::Failed { reason } => format!(
            "gave up: {reason} (trying again in {}; Ctrl-C to stop)",
            humantime::format_duration(retry_failed_after)
        ),
        ConnectionState::Disconnected => "disconnected".to_owned(),
    };
    println!("{now} {id}: {what}");
}

async fn overview(path: &std::path::Path) -> Result<ExitCode> {
    println!("OnAir database: {}", path.display());
    if path.exists() {
        let store = Store::open_existing(path).await?;
        let stats = store.stats().await?;
        store.close().await;
        println!(
            "{} events from {} channels and {} viewers",
            stats.events, stats.channels, stats.viewers
        );
    } else {
        println!("(not created yet: it is created when OnAir first records events)");
    }
    match login::signed_in(Platform::Kick).await {
        Some(account) => println!(
            "Kick: signed in as {}{}",
            account.session.account.display_name,
            account
                .own_channel
                .map(|slug| format!(" (your channel: kick:{slug})"))
                .unwrap_or_default()
        ),
        None => println!("Kick: not signed in (watching needs no sign-in; onair login kick)"),
    }
    match login::signed_in(Platform::Twitch).await {
        Some(account) => println!(
            "Twitch: signed in as {} (your channel: twitch:{})",
            account.session.account.display_name, account.session.account.login
        ),
        None => {
            println!("Twitch: not signed in (watching needs the channel owner's sign-in; onair login twitch)")
        }
    }
    let bot = match login::accounts().await {
        Ok(accounts) => onair::discord::bot_token(&accounts)
            .await
            .ok()
            .flatten()
            .is_some(),
        Err(_) => false,
    };
    if bot {
        println!("Discord: a bot token is kept (onair run --watch discord:SERVER_ID/CHANNEL_ID)");
    } else {
        println!("Discord: no bot token (watching a server needs your bot's token; onair login discord)");
    }
    println!("\nTry: onair run --watch kick:SLUG  record a Kick channel's events");
    println!("     onair run --watch twitch:LOGIN  record your Twitch channel's events (signed in)");
    println!(
        "     onair run --watch discord:SERVER_ID/CHANNEL_ID  record a Discord server's joins and messages"
    );
    println!("     onair events            the latest events");
    println!("     onair login kick        sign in with your Kick app");
    println!("     onair login twitch      sign in to Twitch (a code to enter on twitch.tv/activate)");
    println!("     onair login discord     paste your Discord bot's token, add it to your server");
    println!("     onair events --help     filters and formats");
    println!("     onair import FILE.jsonl import an export");
    println!("     onair db stats          what the database holds");
    Ok(ExitCode::SUCCESS)
}

async fn events(path: &std::path::Path, args: EventsArgs) -> Result<ExitCode> {
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        bail!("--since ({since}) must be before --until ({until})");
    }
    let store = Store::open_existing(path).await?;
    let query = EventQuery {
        after: args.after.map(Offset),
        kinds: args.kind,
        platform: args.platform,
        channel: args.channel,
        since: args.since,
        until: args.until,
        search: args.search,
        limit: (args.limit > 0).then_some(args.limit),
        ..EventQuery::default()
    };
    let events = store.events(&query).await;
    store.close().await;
    let events = events?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match format::write(args.format, &events, &mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("could not write the events")?,
    }
    if events.is_empty() && std::io::stderr().is_terminal() {
        eprintln!("no events match");
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(path: &std::path::Path, file: &std::path::Path) -> Result<ExitCode> {
    let store = Store::open(path).await?;
    report_health(&store, Output::Stderr);
    let writer = store.writer();
    let report = if file.as_os_str() == "-" {
        import_jsonl(&writer, BufReader::new(tokio::io::stdin())).await
    } else {
        let input = tokio::fs::File::open(file)
            .await
            .with_context(|| format!("cannot open {}: check the path", file.display()))?;
        import_jsonl(&writer, BufReader::new(input)).await
    };
    store.close().await;
    let report = report?;
    for bad in &report.bad_lines {
        eprintln!("{}:{}: skipped: {}", file.display(), bad.line, bad.error);
    }
    println!(
        "imported {} new event{}, {} already present{}",
        report.added,
        if report.added == 1 { "" } else { "s" },
        report.duplicates,
        if report.refused > 0 {
            format!(", {} refused by the store (see the log)", report.refused)
        } else {
            String::new()
        }
    );
    if report.bad_lines.is_empty() && report.refused == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} line(s) could not be imported; the others were. Fix those lines and import again: \
             what is already stored is skipped.",
            report.bad_lines.len() as u64 + report.refused
        );
        Ok(ExitCode::FAILURE)
    }
}

async fn stats(path: &std::path::Path) -> Result<ExitCode> {
    let store = Store::open_existing(path).await?;
    let stats = store.stats().await;
    store.close().await;
    let stats = stats?;
    println!("database:  {}", path.display());
    println!("size:      {:.1} MiB", stats.bytes as f64 / (1024.0 * 1024.0));
    println!("events:    {}", stats.events);
    if let Some((first, last)) = stats.offsets {
        println!("offsets:   {first} to {last}");
    }
    if let Some((first, last)) = stats.received {
        println!(
            "received:  {} to {}",
            first.format("%Y-%m-%d %H:%M:%S UTC"),
            last.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    println!("channels:  {}", stats.channels);
    println!("viewers:   {}", stats.viewers);
    let rows = &stats.rows;
    println!(
        "history:   {} follows, {} subscriptions, {} roles, {} bans, {} connection changes",
        rows.follower_history, rows.viewer_subscriptions, rows.viewer_roles, rows.bans, rows.connection_log
    );
    for (platform, n) in &stats.per_platform {
        println!("  {platform:8} {n}");
    }
    if !stats.per_kind.is_empty() {
        println!("per kind:");
        for (kind, n) in &stats.per_kind {
            println!("  {:20} {n}", kind.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}
