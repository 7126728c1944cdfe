import type { AgentConnection, AgentEvent, LiveEvents } from './agent-connection';
import type { AgentTokenStore } from './agent-token';
import { isUnauthorized } from './api';

/** How long an old stream stays open after its replacement has connected (see `handOver`). */
const HANDOVER_OVERLAP_MS = 2000;

export type Connection = 'connecting' | 'live' | 'reconnecting';

interface Stream {
  token: string;
  started: boolean;
  live?: LiveEvents;
}

/**
 * The conversation's live stream, kept open across token refreshes, revocations and network
 * failures: the chat hears every event once, in order, from wherever it last was.
 */
export function createLiveEvents(options: {
  connection: AgentConnection;
  tokens: AgentTokenStore;
  /** Every event, with whether it came on the current stream (not one being retired). */
  onEvent: (event: AgentEvent, current: boolean) => void;
  onConnection: (state: Connection) => void;
  /** The stream restarted with nothing covering the time before: pieces may be missing. */
  onGap: () => void;
}) {
  const { connection, tokens } = options;
  /** The stream whose position and state count; `retiring` is the one it is replacing. */
  let current: Stream | undefined;
  let retiring: Stream | undefined;
  let lastEventId: string | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retireTimer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  let stopped = false;

  function closeRetiring() {
    clearTimeout(retireTimer);
    retiring?.live?.close();
    retiring = undefined;
  }

  /** Opens the stream with `token` from the last event seen; it becomes the current one. */
  function open(token: string) {
    const stream: Stream = { token, started: false };
    const isCurrent = () => current === stream;
    current = stream;
    stream.live = connection.events(token, lastEventId, {
      connected: () => {
        if (isCurrent()) options.onConnection('live');
      },
      started: () => {
        stream.started = true;
        if (!isCurrent()) return;
        attempts = 0;
        options.onConnection('live');
        // The server listens before it reports the stream connected; the old stream stays
        // a moment longer anyway, a margin for pieces already in flight on it. With no old
        // stream open, nothing covered the time before this one: a reply half-streamed
        // before it cannot be completed piece by piece.
        if (retiring) retireTimer = setTimeout(closeRetiring, HANDOVER_OVERLAP_MS);
        else options.onGap();
      },
      event: (id, event) => {
        // Both streams of a handover deliver the same events; ids and piece indexes dedupe.
        if (isCurrent()) lastEventId = id;
        options.onEvent(event, isCurrent());
      },
      // The current stream reconnects; an old one still overlapping stops covering for it.
      lost: (cause) => {
        if (isCurrent()) reconnect(cause);
        else if (retiring === stream) closeRetiring();
      },
    });
  }

  async function connect() {
    if (stopped) return;
    let token: string;
    try {
      token = await tokens.get();
    } catch (cause) {
      // A session that is gone is handled by the token store; anything else is retried.
      if (!isUnauthorized(cause)) reconnect(cause);
      return;
    }
    if (!stopped) open(token);
  }

  /**
   * The server ends a stream when its token expires, so when the store mints the next token
   * the stream moves to it while the old one is still good: a routine refresh never shows as
   * a dropped connection. (A stream that is already reconnecting picks the new token up by
   * itself.)
   */
  function handOver(token: string) {
    if (stopped || !current || current.token === token) return;
    closeRetiring();
    if (current.started) retiring = current;
    else current.live?.close();
    open(token);
  }

  /**
   * The stream ended or failed: a 401 means the token was revoked or expired, so a new one is
   * minted first. Then subscribe again from the last event seen, backing off while it fails.
   */
  function reconnect(cause: unknown) {
    if (stopped) return;
    const failed = current;
    current = undefined;
    failed?.live?.close();
    closeRetiring();
    options.onConnection('reconnecting');
    clearTimeout(retryTimer);
    const delay = Math.min(30_000, 500 * 2 ** attempts++);
    retryTimer = setTimeout(async () => {
      if (isUnauthorized(cause) && failed) {
        try {
          await tokens.rejected(failed.token);
        } catch {
          // The session is gone (handled by the token store) or the server is unreachable.
        }
      }
      void connect();
    }, delay);
  }

  const stopListening = tokens.onToken(handOver);

  return {
    connect,
    /**
     * Until the stream has delivered something, `id` (the newest stored message read, or the
     * start, 0) is where a resubscription resumes, so nothing stored while the stream is down
     * or changing tokens is missed.
     */
    resumeFrom(id: string) {
      lastEventId ??= id;
    },
    close() {
      stopped = true;
      stopListening();
      clearTimeout(retryTimer);
      current?.live?.close();
      closeRetiring();
    },
  };
}
