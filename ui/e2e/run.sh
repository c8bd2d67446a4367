#!/usr/bin/env bash
# Runs a command (default: the dashboard E2E, then the recovery screen's, then kill -9 in heavy ingest) in a private desktop: Xvfb, a
# private D-Bus session with a notification daemon (dunst) watched by dbus-monitor, and tauri-driver; the app
# gets its own XDG folders and database.
# Usage: ui/e2e/run.sh [command...]   (TAURI_DRIVER: the tauri-driver binary; ONAIR_APP and ONAIR_CLI: the app
# and the `onair` command, by default target/debug/onair-desktop and target/debug/onair)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "${1:-}" != "--inner" ]]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" --inner "$@"
fi
shift
state="$(mktemp -d)"
export XDG_DATA_HOME="$state/data" XDG_CONFIG_HOME="$state/config" XDG_CACHE_HOME="$state/cache"
export ONAIR_DB="$state/onair.db" ONAIR_SECRET_STORE=file NO_AT_BRIDGE=1
# The sign-in talks to the stand-in for Kick's OAuth server and API (e2e/fake-kick.mjs)...
export ONAIR_E2E_FAKE_KICK_PORT=41480
export ONAIR_KICK_AUTH_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_KICK_PORT" ONAIR_KICK_PUBLIC_API_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_KICK_PORT"
# ...and so do channel look-ups, behind a Cloudflare-like browser check.
export ONAIR_KICK_API_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_KICK_PORT"
# The stand-in for Twitch (e2e/fake-twitch.mjs): its OAuth server and Helix, and EventSub on the next port.
export ONAIR_E2E_FAKE_TWITCH_PORT=41482
export ONAIR_TWITCH_AUTH_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_TWITCH_PORT" ONAIR_TWITCH_HELIX_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_TWITCH_PORT"
export ONAIR_TWITCH_EVENTSUB_URL="ws://127.0.0.1:$((ONAIR_E2E_FAKE_TWITCH_PORT + 1))/ws"
# The stand-in for Discord (e2e/fake-discord.mjs): REST under /api/v10, and the Gateway on the next port
# (which its /gateway/bot names). No ONAIR_DISCORD_BOT_TOKEN: the test pastes the token in the window.
export ONAIR_E2E_FAKE_DISCORD_PORT=41484
export ONAIR_DISCORD_API_URL="http://127.0.0.1:$ONAIR_E2E_FAKE_DISCORD_PORT/api/v10"
unset ONAIR_DISCORD_BOT_TOKEN ONAIR_DISCORD_GATEWAY_URL
mkdir -p "$here/artifacts"
dunst > "$here/artifacts/dunst.log" 2>&1 & dunst_pid=$!
# Every notification the app sends, as the daemon receives it (the test reads this file).
export ONAIR_E2E_NOTIFICATIONS="$here/artifacts/notifications.log"
dbus-monitor --session "interface='org.freedesktop.Notifications',member='Notify'" > "$ONAIR_E2E_NOTIFICATIONS" 2>&1 &
monitor_pid=$!
driver="${TAURI_DRIVER:-tauri-driver}"
"$driver" --port 4444 > "$here/artifacts/tauri-driver.log" 2>&1 & driver_pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/4444) 2>/dev/null && break; sleep 0.1; done
rc=0
if [[ $# -gt 0 ]]; then "$@" || rc=$?
else
  # The dashboard's session, then the recovery screen's own sessions, then kill -9 of the app in heavy
  # ingest and its start after it (each with its own database and folders; one OnAir at a time on this
  # bus, as single-instance wants).
  node "$here/dashboard.mjs" || rc=$?
  node "$here/recovery.mjs" || rc=$?
  node "$here/crash.mjs" || rc=$?
fi
kill "$driver_pid" "$dunst_pid" "$monitor_pid" 2>/dev/null || true
wait 2>/dev/null || true
rm -rf "$state"
exit $rc
