// The shapes the desktop shell sends. Event is the public JSON form v1 (docs/events.md).

export interface Actor {
  id: string;
  login: string;
  display_name: string;
}

export interface ChannelRef {
  platform_id: string;
  slug: string;
  chatroom_id?: string | null;
}

export interface Event {
  offset: number;
  id: string;
  platform: "kick" | "twitch" | "discord";
  channel: ChannelRef;
  kind: string;
  actor: Actor | null;
  target: Actor | null;
  occurred_at: string;
  received_at: string;
  source_id: string | null;
  data: Record<string, unknown>;
  raw?: unknown;
}

export type ConnectionState =
  | { state: "connecting" }
  | { state: "connected"; session?: string }
  | { state: "reconnecting"; attempt: number; next_in_ms: number }
  | { state: "failed"; reason: string }
  | { state: "disconnected" };

export interface ConnectionView {
  id: string;
  platform: string;
  name: string;
  state: ConnectionState;
  since: string;
  reconnects: number;
  lastError: string | null;
}

export interface Overview {
  database: string;
  connections: ConnectionView[];
  simulating: boolean;
}

export interface FeedQuery {
  after?: number;
  kinds?: string[];
  search?: string;
  limit?: number;
}
