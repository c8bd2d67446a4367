// Discord watch specs as the Accounts section builds and reads them: `discord:SERVER_ID` (joins, leaves and
// bans only) or `discord:SERVER_ID/CHANNEL_ID,...` (and those channels' messages).

/** The spec that watches server `id` with the messages of `channels` (in the order given, each once). */
export function discordSpec(id: string, channels: readonly string[]): string {
  const unique = [...new Set(channels.filter((c) => c.trim() !== ""))];
  return unique.length ? `discord:${id}/${unique.join(",")}` : `discord:${id}`;
}

/** The spec among `watched` that watches server `id`, if one does. */
export function watchedSpec(watched: readonly string[], id: string): string | undefined {
  return watched.find((c) => c === `discord:${id}` || c.startsWith(`discord:${id}/`));
}

/** The channels whose messages are recorded for server `id` (none when it is not watched). */
export function watchedChannels(watched: readonly string[], id: string): string[] {
  const rest = watchedSpec(watched, id)?.split("/")[1];
  return rest ? rest.split(",").filter(Boolean) : [];
}
