// The PostgreSQL event bus's dedicated LISTEN connection, opened so that the bus holds its socket.
import type { Socket } from 'node:net';
import postgres from 'postgres';
import { type ParsedHosts, socketOpener } from '../db/database-watch.js';

export interface ListenerCallbacks {
  onnotify: (channel: string, text: string) => void;
  onclose: () => void;
  /** Given each socket the connection opens, so that a heartbeat can cut it. */
  onsocket: (socket: Socket) => void;
}

/** One connection with the pool's settings, never recycled, that reports its notifications. */
export function openListenerConnection(
  sql: postgres.Sql,
  { onnotify, onclose, onsocket }: ListenerCallbacks,
): postgres.Sql {
  const connectNext = socketOpener();
  // The pool's own parsed options, as postgres.js's `listen` uses for its connection;
  // `onnotify` is missing from the typings but is what that connection is built with.
  const listenerOptions = {
    ...(sql.options as unknown as postgres.Options<Record<string, never>>),
    max: 1,
    idle_timeout: 0,
    // Recycling the connection would open a gap in delivery for nothing.
    max_lifetime: null,
    fetch_types: false,
    onnotify: (channel: string, text: string) => onnotify(channel, text),
    onclose: () => onclose(),
    // Keeping the socket: postgres.js has no other way to cut one.
    socket: (parsed: ParsedHosts) => {
      const socket = connectNext(parsed);
      onsocket(socket);
      return socket;
    },
  };
  return postgres(listenerOptions);
}
