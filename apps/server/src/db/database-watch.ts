import { connect, type Socket } from 'node:net';
import postgres from 'postgres';

/** How long the database may take to answer `select 1` before it counts as frozen. */
const PROBE_TIMEOUT_MS = 1_500;
/** An answer this recent stands for the database answering now. */
const FRESH_MS = 1_000;

/** Where postgres.js would connect, as it hands them to a `socket` option. */
export type ParsedHosts = { host: string[]; port: number[]; path: string | false };

/**
 * postgres.js's own connect, for a `socket` option: each call connects to the next of the
 * hosts, round robin, as the driver does. Given a socket, postgres.js skips its connect and
 * speaks (TLS included) over it, so the caller may keep the socket: the driver has no other
 * way to cut a connection.
 */
export function socketOpener() {
  let connects = 0;
  return (parsed: ParsedHosts): Socket => {
    const index = connects++ % Math.max(1, parsed.host.length);
    const host = parsed.host[index] ?? 'localhost';
    const port = parsed.port[index] ?? parsed.port[0] ?? 5432;
    // postgres.js names the TLS server from `host`, as it does for its own sockets.
    return parsed.path ? connect(parsed.path) : Object.assign(connect(port, host), { host, port });
  };
}

/**
 * Every socket of a pool, kept so that they can be cut: the driver has no other way to give
 * up a connection whose server stopped answering.
 */
export function trackedSockets() {
  const sockets = new Set<Socket>();
  const connectNext = socketOpener();
  const open = (parsed: ParsedHosts) => {
    const socket = connectNext(parsed);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  /** Closes every connection: their queries fail as a lost connection (a 503), at once. */
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return { open, cutAll };
}

/**
 * A PostgreSQL that is frozen (stopped, or behind a network that drops packets) refuses
 * nothing: queries on open connections wait for as long as it stays so, and requests with
 * them. When a request has waited a while, the edge calls `check()`: this asks the database
 * for `select 1` on a connection of its own, and if no answer comes within 1.5 s, cuts every
 * connection of the pool. Their queries then fail as an outage does, answered 503 with
 * `Retry-After`, and new connections meet the pool's connect timeout until it is back.
 *
 * You probably don't need to edit this unless you change how the pool connects.
 */
export class DatabaseWatch {
  readonly #probe: postgres.Sql;
  readonly #probeSockets = trackedSockets();
  #answeredAt = Number.NEGATIVE_INFINITY;
  #probing = false;

  constructor(
    url: string,
    private readonly cutPool: () => void,
    private readonly warn: (message: string) => void = (message) => process.emitWarning(message),
  ) {
    this.#probe = postgres(url, {
      max: 1,
      connect_timeout: 3,
      idle_timeout: 60,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: 'scopekit-watch' },
      socket: this.#probeSockets.open,
    } as postgres.Options<Record<string, never>>);
  }

  check(): void {
    if (this.#probing || performance.now() - this.#answeredAt < FRESH_MS) return;
    this.#probing = true;
    const frozen = setTimeout(() => {
      this.warn('The database did not answer within 1.5 s; its connections were cut');
      this.#probeSockets.cutAll();
      this.cutPool();
    }, PROBE_TIMEOUT_MS);
    this.#probe`select 1`
      .then(
        () => {
          this.#answeredAt = performance.now();
        },
        () => {},
      )
      .finally(() => {
        clearTimeout(frozen);
        this.#probing = false;
      });
  }

  close() {
    return this.#probe.end({ timeout: 1 });
  }
}
