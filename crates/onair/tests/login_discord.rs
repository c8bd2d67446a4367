//! `onair login discord` and `onair logout discord` end to end, as a user runs them: the real binary, the
//! bot token on stdin, Discord's REST API played by the scripted server. A wrong token is refused with
//! what to do and nothing is kept; the right one is checked, kept in the owner-only secrets file (never in
//! the settings or the output, even at trace level), the page that adds the bot is printed, and the servers
//! the bot is in are listed with their message channels as ready-to-run commands, which then work without
//! the token in the environment. Logging out forgets the token.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use onair_discord::testing::{GatewayServer, ServerOptions};
use tokio::io::AsyncWriteExt;

mod common;

use common::Home;

const TOKEN: &str = "MTM3OTA2NzAyMjU0MDkzMTA3Mg.login-e2e-secret";
const GUILD: &str = "1085131932938797063";
const GENERAL: &str = "1085131964526100482";

/// Runs `onair -vv ARGS` in `home` against `server`, `stdin` typed in.
async fn onair(home: &Home, server: &GatewayServer, args: &[&str], stdin: &str) -> (Output, String, String) {
    let mut child = home
        .onair()
        .env("ONAIR_DISCORD_API_URL", server.api_url())
        .arg("-vv")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains("login-e2e-secret") && !stderr.contains("login-e2e-secret"),
        "the token was printed"
    );
    (out, stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_and_keeps_the_bot_token_lists_the_servers_and_logout_forgets_it() {
    let server = GatewayServer::start(ServerOptions {
        token: TOKEN.to_owned(),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    server.add_guild(GUILD, "Nova's Den", &[(GENERAL, "general")]);
    let home = Home::new();

    let (out, stdout, stderr) = onair(
        &home,
        &server,
        &["login", "discord", "--no-browser"],
        "wrong-token\n",
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr.contains("Reset Token"), "says what to do:\n{stderr}");
    assert!(
        !home.secrets_file().exists()
            || !std::fs::read_to_string(home.secrets_file())
                .unwrap()
                .contains("discord")
    );
    assert!(!stdout.contains("kept in"), "{stdout}");

    let (out, stdout, stderr) = onair(
        &home,
        &server,
        &["login", "discord", "--no-browser"],
        &format!("  {TOKEN}  \n"),
    )
    .await;
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Discord bot onair-bot (1379067022540931072) kept in"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "https://discord.com/oauth2/authorize?client_id=1379067022540931072&scope=bot&permissions=1024"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "Nova's Den: onair run --watch discord:{GUILD}/{GENERAL}"
        )) && stdout.contains("#general"),
        "{stdout}"
    );
    assert!(
        stderr.contains("DEBUG") || stderr.contains("TRACE"),
        "logs were on"
    );
    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(
        kept.contains("discord.bot-token") && kept.contains(TOKEN),
        "trimmed and kept:\n{kept}"
    );
    assert!(common::owner_only(&home.secrets_file()));

    // The kept token is used: the overview says so, and the listed command starts watching.
    let (out, stdout, _) = onair(&home, &server, &[], "").await;
    assert!(out.status.success());
    assert!(stdout.contains("Discord: a bot token is kept"), "{stdout}");
    let (out, stdout, stderr) = onair(
        &home,
        &server,
        &[
            "run",
            "--watch",
            &format!("discord:{GUILD}/{GENERAL}"),
            "--for",
            "8s",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("shard 0/1: connected"), "{stdout}");
    assert_eq!(server.log().iter().filter(|r| r.op == 2).count(), 1);

    let (out, stdout, _) = onair(&home, &server, &["logout", "discord"], "").await;
    assert!(out.status.success());
    assert!(stdout.contains("Forgot the Discord bot's token"), "{stdout}");
    assert!(
        !std::fs::read_to_string(home.secrets_file())
            .unwrap()
            .contains(TOKEN)
    );
    let (out, _, stderr) = onair(
        &home,
        &server,
        &["run", "--watch", &format!("discord:{GUILD}")],
        "",
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr.contains("onair login discord"), "{stderr}");
}
