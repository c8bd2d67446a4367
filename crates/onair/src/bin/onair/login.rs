//! `onair login PLATFORM` and `onair logout PLATFORM`: signing in from the command line (the browser opens
//! on the provider's page and comes back to a listener on localhost), and signing out (tokens revoked at
//! the provider, then forgotten here).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use onair::accounts::SignedOut;
use onair::accounts::{Account, Accounts, FreshnessEnd};
use onair::config::Config;
use onair::kick_signin::{KickSignIn, NO_REDIRECT, kick_login, kick_sign_out};
use onair::signin::DEFAULT_REDIRECT_PORT;
use onair::twitch_signin::{TwitchSignIn, twitch_sign_out};
use onair_core::LoginChallenge;
use onair_core::Platform;
use onair_kick::{KickLogin, KickPlatform};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

/// The environment variable with the Kick app's client id.
pub const KICK_CLIENT_ID_ENV: &str = "ONAIR_KICK_CLIENT_ID";
/// The environment variable with the Kick app's client secret (for scripts; it is then not kept).
pub const KICK_CLIENT_SECRET_ENV: &str = "ONAIR_KICK_CLIENT_SECRET";

/// How long the browser has to come back.
const BROWSER_WAIT: Duration = Duration::from_secs(5 * 60);

/// `onair login`'s options.
#[derive(clap::Args)]
pub struct LoginArgs {
    /// The platform: kick, twitch or discord (discord: paste your bot's token).
    #[arg(value_parser = parse_login_platform)]
    platform: Platform,
    /// Your app's client id [default: $ONAIR_KICK_CLIENT_ID or $ONAIR_TWITCH_CLIENT_ID, else the settings
    /// file's kick.client_id or twitch.client_id]
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// The port of the redirect URL registered in your app, http://localhost:PORT/callback (0: any free
    /// port, for tests) [default: the settings file's kick.redirect_port, else 41477]
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Print the sign-in page's address instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
}

fn parse_login_platform(s: &str) -> Result<Platform, String> {
    s.parse::<Platform>().map_err(|e| e.to_string())
}

/// The accounts, in the keychain (or this machine's secrets file).
pub async fn accounts() -> Result<Accounts> {
    let secrets = onair::paths::secrets()
        .await
        .context("cannot find your home folder to keep sign-ins in")?;
    Ok(Accounts::new(secrets))
}

/// The Kick app's client secret: from the environment, else the secret store (`None` when neither has
/// one).
async fn client_secret(accounts: &Accounts) -> Result<Option<SecretString>> {
    match std::env::var(KICK_CLIENT_SECRET_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        Some(secret) => Ok(Some(SecretString::from(secret.trim().to_owned()))),
        None => Ok(accounts.client_secret(Platform::Kick).await?),
    }
}

/// `onair login kick` or `onair login twitch`.
pub async fn login(args: LoginArgs, settings: &Config) -> Result<ExitCode> {
    match args.platform {
        Platform::Twitch => return twitch_login(args, settings).await,
        Platform::Discord => return discord_login(args, settings).await,
        Platform::Kick => {}
    }
    let accounts = accounts().await?;
    let port = args
        .port
        .or(settings.kick.redirect_port)
        .unwrap_or(DEFAULT_REDIRECT_PORT);
    let Some(client_id) = args
        .client_id
        .or_else(|| std::env::var(KICK_CLIENT_ID_ENV).ok())
        .or_else(|| settings.kick.client_id.clone())
        .filter(|id| !id.trim().is_empty())
    else {
        bail!(
            "OnAir signs in to Kick with your own Kick app. Create one at https://kick.com/settings/developer \
             with the redirect URL http://localhost:{port}/callback, then run: onair login kick --client-id ID \
             (or put client_id under [kick] in the settings file)"
        );
    };
    let secret = match client_secret(&accounts).await? {
        Some(secret) => secret,
        None => ask_client_secret()?,
    };
    let signin = KickSignIn::begin(&client_id, secret, port).await?;
    let redirect_uri = signin.redirect_uri();
    let authorize_url = signin.authorize_url().to_owned();
    println!("Sign in to Kick on this page (it returns to {redirect_uri}):\n\n  {authorize_url}\n");
    if !args.no_browser
        && let Err(e) = webbrowser::open(&authorize_url)
    {
        println!("(the browser did not open: {e}; open the address above yourself)");
    }
    println!(
        "Waiting for the browser (up to {} minutes)...",
        BROWSER_WAIT.as_secs() / 60
    );
    // The secret worked once the sign-in completes: keep it, unless it came from the environment (a
    // script's own business).
    let keep_secret = std::env::var(KICK_CLIENT_SECRET_ENV).is_err();
    let account = signin
        .finish(&accounts, keep_secret, BROWSER_WAIT, std::future::pending())
        .await?;
    println!(
        "Signed in to Kick as {} (kept in {}).",
        account.session.account.display_name,
        accounts.secrets().backend()
    );
    if let Some(slug) = &account.own_channel {
        println!(
            "Your channel is kick:{slug}: `onair run` watches it when given no other channel \
             (or: onair run --watch kick:{slug})."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `onair login twitch`: the device-code flow (the code is typed on Twitch's page, in any browser).
async fn twitch_login(args: LoginArgs, settings: &Config) -> Result<ExitCode> {
    let accounts = accounts().await?;
    let mut config = settings.twitch.config();
    if let Some(client_id) = args.client_id.filter(|id| !id.trim().is_empty()) {
        config.client_id = Some(client_id.trim().to_owned());
    }
    let signin = TwitchSignIn::begin(&config).await?;
    let LoginChallenge::DeviceCode {
        verification_uri,
        user_code,
        expires_in,
        ..
    } = signin.challenge().clone()
    else {
        bail!("Twitch answered the sign-in with something OnAir did not ask for; please report it");
    };
    println!(
        "To sign in to Twitch, open this page and enter the code {user_code}:\n\n  {verification_uri}\n"
    );
    println!(
        "OnAir asks to read: {} (only what the recorded events need).",
        onair_twitch::subscriptions::scopes().join(", ")
    );
    if !args.no_browser
        && let Err(e) = webbrowser::open(&verification_uri)
    {
        println!("(the browser did not open: {e}; open the address above yourself)");
    }
    println!(
        "Waiting for the approval (the code works for {} minutes)...",
        expires_in.as_secs().div_ceil(60)
    );
    let account = signin.finish(&accounts).await?;
    let session = &account.session;
    println!(
        "Signed in to Twitch as {} (kept in {}).",
        session.account.display_name,
        accounts.secrets().backend()
    );
    let (_, missing) = onair_twitch::subscriptions::plan(&session.scopes);
    for (subscription, scope) in missing {
        println!(
            "note: without the {scope} permission, {} events are not received",
            subscription.name
        );
    }
    println!(
        "Your channel is twitch:{}: `onair run` watches it when given no other channel \
         (or: onair run --watch twitch:{}).",
        session.account.login, session.account.login
    );
    Ok(ExitCode::SUCCESS)
}

/// `onair login discord`: the bot's token (pasted without echo, or one line on stdin), checked with
/// Discord and kept in the keychain; then the page that adds the bot to a server, and the servers it is in
/// with their channels as watch specs.
async fn discord_login(args: LoginArgs, settings: &Config) -> Result<ExitCode> {
    let accounts = accounts().await?;
    let token = if std::io::stdin().is_terminal() {
        println!(
            "OnAir reads your Discord server through your own bot. Create one at \
             https://discord.com/developers/applications (New Application > Bot), turn on the Server \
             Members and Message Content intents there (Bot > Privileged Gateway Intents), then copy its \
             token (Bot > Reset Token)."
        );
        rpassword::prompt_password("The bot's token (not shown; kept in the keychain): ")
            .context("could not read the token")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("could not read the token from stdin")?;
        line
    };
    let token = SecretString::from(token.trim().to_owned());
    if token.expose_secret().is_empty() {
        bail!("no token given; copy it from the Developer Portal (your app > Bot > Reset Token)");
    }
    let discord = onair_discord::DiscordPlatform::new(settings.discord.config(), token.clone())?;
    let bot = discord.rest().current_user().await?;
    accounts.set_bot_token(&token).await?;
    println!(
        "Discord bot {} ({}) kept in {}.",
        bot.username,
        bot.id,
        accounts.secrets().backend()
    );
    let invite = onair_discord::authorize_url(&bot.id);
    println!("\nAdd the bot to your server on this page:\n\n  {invite}\n");
    if !args.no_browser
        && let Err(e) = webbrowser::open(&invite)
    {
        println!("(the browser did not open: {e}; open the address above yourself)");
    }
    let guilds = match discord.rest().current_user_guilds().await {
        Ok(guilds) => guilds,
        Err(e) => {
            println!(
                "(the servers the bot is in could not be listed: {e}; the token is kept: run `onair login \
                 discord` again later to see them)"
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    if guilds.is_empty() {
        println!("The bot is in no server yet. Once added, see them with: onair login discord again.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("The bot is in these servers; watch one (and the channels whose messages to record) with:");
    for guild in guilds {
        let channels = discord.rest().guild_channels(&guild.id).await.unwrap_or_default();
        let ids: Vec<&str> = channels
            .iter()
            .filter(|c| c.has_messages())
            .map(|c| c.id.as_str())
            .collect();
        let names: Vec<String> = channels
            .iter()
            .filter(|c| c.has_messages())
            .map(|c| format!("#{}", c.name.as_deref().unwrap_or("?")))
            .collect();
        println!(
            "  {}: onair run --watch discord:{}/{}",
            guild.name,
            guild.id,
            ids.join(",")
        );
        if !names.is_empty() {
            println!("      ({}; keep the ones you want)", names.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the client secret from the terminal without echoing it.
fn ask_client_secret() -> Result<SecretString> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "the Kick app's client secret is needed once: run onair login kick in a terminal, or set \
             {KICK_CLIENT_SECRET_ENV}"
        );
    }
    let secret =
        rpassword::prompt_password("Your Kick app's client secret (not shown; kept in the keychain): ")
            .context("could not read the client secret")?;
    if secret.trim().is_empty() {
        bail!("no client secret given; it is on your app's page at https://kick.com/settings/developer");
    }
    Ok(SecretString::from(secret.trim().to_owned()))
}

/// `onair logout kick` or `onair logout twitch`.
pub async fn logout(platform: Platform, settings: &Config) -> Result<ExitCode> {
    let accounts = accounts().await?;
    if platform == Platform::Discord {
        if accounts.forget_bot_token().await? {
            println!(
                "Forgot the Discord bot's token. It still works wherever else it is used: reset it in the \
                 Developer Portal (Bot > Reset Token) to end it."
            );
        } else {
            println!("OnAir keeps no Discord bot token.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = if platform == Platform::Twitch {
        twitch_sign_out(&settings.twitch.config(), &accounts).await?
    } else {
        let client_id = settings.kick.client_id.clone().unwrap_or_default();
        // Revoking needs only the tokens; the app's secret is passed along when known.
        let secret = client_secret(&accounts).await?;
        kick_sign_out(&accounts, &client_id, secret).await?
    };
    if let Some(warning) = outcome.revoke_warning(platform) {
        eprintln!("{warning}");
        return Ok(ExitCode::FAILURE);
    }
    match outcome {
        SignedOut::NotSignedIn => println!("Not signed in to {platform}."),
        SignedOut::Forgotten { name, .. } => {
            println!("Signed out of {platform}: {name}'s tokens are revoked and forgotten.")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The account signed in on `platform`, if any; a secret store that cannot be read is a warning here
/// (watching needs no sign-in).
pub async fn signed_in(platform: Platform) -> Option<Account> {
    let accounts = accounts().await.ok()?;
    match accounts.load(platform).await {
        Ok(account) => account,
        Err(e) => {
            tracing::warn!(error = %e, "the saved sign-in could not be read");
            None
        }
    }
}

/// The background renewal of a sign-in while `onair run` runs.
pub struct Renewal {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Renewal {
    /// Stops renewing.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The Kick sign-in when the user's app is set up (client id in the settings, secret in the store), for
/// renewing the session while `onair run` runs.
pub async fn kick_app(settings: &Config) -> Option<KickLogin> {
    let client_id = settings
        .kick
        .client_id
        .clone()
        .filter(|id| !id.trim().is_empty())?;
    let accounts = accounts().await.ok()?;
    let login = match client_secret(&accounts).await {
        Ok(None) => return None,
        Ok(Some(secret)) => kick_login(&client_id, secret, NO_REDIRECT).map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    login
        .inspect_err(|e| tracing::warn!(error = %e, "the Kick sign-in is not available"))
        .ok()
}

/// Keeps `account`'s Kick session renewed ahead of each expiry until stopped (when `kick` has the app to
/// renew it with).
pub fn keep_fresh(account: Account, kick: Arc<KickPlatform>) -> Renewal {
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move {
            if kick.kick_login().is_none() {
                tracing::info!("the Kick sign-in is not renewed: no client id or secret (onair login kick)");
                return;
            }
            let Ok(accounts) = accounts().await else { return };
            match onair::accounts::keep_fresh(kick.as_ref(), &accounts, account, stop).await {
                FreshnessEnd::SignInAgain(e) => eprintln!("warning: {e} (onair login kick)"),
                FreshnessEnd::NotSaved(e) => {
                    eprintln!("warning: the renewed Kick sign-in was not saved: {e}")
                }
                FreshnessEnd::Stopped | FreshnessEnd::NothingToRefresh => {}
            }
        }
    });
    Renewal { stop, task }
}
