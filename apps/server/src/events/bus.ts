/**
 * Publish/subscribe between the parts of one process and, on PostgreSQL, between every
 * instance sharing the database (LISTEN/NOTIFY): token revocations and live messages
 * travel this way, with no new infrastructure.
 */
export interface EventBus {
  /** Delivers `payload` to every subscriber of `channel` in every instance, this one included. */
  publish(channel: string, payload: unknown): Promise<void>;
  /** Resolves once the subscription is live, so nothing published afterwards is missed. */
  subscribe(channel: string, handler: (payload: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
