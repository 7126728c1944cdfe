import type { Database } from '../db/client.js';

/**
 * Publish/subscribe between the parts of one process and, on PostgreSQL, between every
 * instance sharing the database (LISTEN/NOTIFY): token revocations and live messages
 * travel this way, with no new infrastructure.
 */
export interface EventBus {
  /** Delivers `payload` to every subscriber of `channel` in every instance, this one included. */
  publish(channel: string, payload: unknown): Promise<void>;
  /**
   * Runs `work` in a transaction of `db`; what it publishes is delivered when, and only if,
   * the transaction commits, so a write and its announcement cannot part. Through PostgreSQL
   * the notifications are sent inside the transaction (one that cannot be sent rolls the
   * write back); in one process they are published once it has committed.
   */
  transaction<T>(
    db: Database,
    work: (tx: Database, publish: PublishWithin) => Promise<T>,
  ): Promise<T>;
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

/** Publishes events on one channel as part of a transaction, in order, however many in one go. */
export type PublishWithin = (channel: string, payloads: unknown[]) => Promise<void>;
