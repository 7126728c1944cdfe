import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL that a test can cut and restore: a real
 * outage as the server sees it, without stopping the database other tests share. In front
 * of the HTTP server it is a load balancer's relay, passing a reset on to its client.
 */
export class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  /** Each open connection's two ends, so that a stall can stop the bytes between them. */
  readonly #pairs = new Set<[Socket, Socket]>();
  #stalled = false;
  #port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port() {
    return this.#port;
  }

  async start(): Promise<number> {
    const server = createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      if (this.#stalled) {
        // Accepted, and then nothing: no byte reaches the database.
        client.pause();
        client.on('error', () => client.destroy());
        return;
      }
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      this.#sockets.add(upstream);
      upstream.on('close', () => {
        this.#sockets.delete(upstream);
        this.#pairs.delete(pair);
      });
      for (const socket of pair) {
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
    this.#server = server;
    return this.#port;
  }

  /**
   * Stops every byte between the two ends of each connection, open or new, and closes
   * none: what a network that black-holes the traffic (a half-open connection) looks like
   * from either end, which see no close and no error.
   */
  stall(): void {
    this.#stalled = true;
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** New connections are forwarded again; the stalled ones stay stalled until their ends give up. */
  unstall(): void {
    this.#stalled = false;
  }

  /** Refuses new connections and drops every open one, as a crashed database would. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
