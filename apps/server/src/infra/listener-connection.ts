// The PostgreSQL event bus's dedicated LISTEN connection, opened so that the bus holds its socket.
import { connect, type Socket } from 'node:net';
import postgres from 'postgres';

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
  let connects = 0;
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
    // postgres.js's own connect, but keeping the socket: it has no other way to cut one.
    // Given a socket, postgres.js skips its connect and speaks (TLS included) over it.
    socket: (parsed: { host: string[]; port: number[]; path: string | false }) => {
      const index = connects++ % Math.max(1, parsed.host.length);
      const host = parsed.host[index] ?? 'localhost';
      const port = parsed.port[index] ?? parsed.port[0] ?? 5432;
      // postgres.js names the TLS server from `host`, as it does for its own sockets.
      const socket = parsed.path
        ? connect(parsed.path)
        : Object.assign(connect(port, host), { host, port });
      onsocket(socket);
      return socket;
    },
  };
  return postgres(listenerOptions);
}
