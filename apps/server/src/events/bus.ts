/**
 * Publish/subscribe between the parts of one process and, on PostgreSQL, between every
 * instance sharing the database (LISTEN/NOTIFY): token revocations and live messages
 * travel this way, with no new infrastructure.
 */
export interface EventBus {
  /**
   * True when events travel through the database (NOTIFY), so one can be sent inside a
   * transaction with `pg_notify` and is delivered exactly when that transaction commits.
   */
  readonly notifiesThroughDatabase: boolean;
  /** Delivers `payload` to every subscriber of `channel` in every instance, this one included. */
  publish(channel: string, payload: unknown): Promise<void>;
  /**
   * Resolves once the subscription is live, so nothing published afterwards is missed.
   * `onInterruption` hears when delivery stops (`lost`: the listening database connection
   * went away) and when it starts again (`resumed`); events published in between are
   * missed, so a subscriber that keeps state derived from events (a cache) must drop it.
   */
  subscribe(
    channel: string,
    handler: (payload: unknown) => void,
    onInterruption?: (phase: Interruption) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type Interruption = 'lost' | 'resumed';
