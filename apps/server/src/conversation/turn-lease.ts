// Cross-instance turn leases: which instance may run an agent's turn when several share a
// PostgreSQL database. One instance (embedded PGlite) needs none of this.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import { agents } from '../db/schema.js';
import { AppError } from '../errors.js';
import { durationText } from './duration-text.js';

/**
 * How long a lease holds without renewal; a turn renews it while it runs. Short, because it
 * is also how long an instance that died mid-turn (killed, or cut off from the database)
 * blocks its agent on every other instance: a send waiting that long must still be
 * answered well before a client's timeout (the Letta SDK's is 60 s).
 */
export const LEASE_MS = 10_000;
export const RENEW_MS = 2_500;

/** What a turn learns as it starts. */
export interface TurnStart {
  /**
   * The agent's lease was another instance's and had run out: that instance died mid-turn,
   * and its turn must be ended for its listeners (see abandoned-turns.ts).
   */
  tookOver: boolean;
}

/** How often a waiting instance asks again. */
const POLL_MS = 25;

/** The SDK would retry at once and wait as long again per attempt. */
export const busy = (waitedMs: number) =>
  new AppError(
    'CONFLICT',
    `The agent has been busy with another turn for ${durationText(waitedMs)}; try again later`,
    undefined,
    { shouldRetry: false },
  );

/**
 * Leases on agents' rows, taken and renewed with ordinary pooled queries: no connection is
 * held for the turn, an outage fails the send fast (503) instead of hanging it, and a
 * crashed holder's lease runs out by itself.
 */
export class TurnLeases {
  readonly #holder = `instance-${randomUUID()}`;

  constructor(
    private readonly db: Database,
    private readonly timing: { leaseMs: number; renewMs: number },
  ) {}

  /**
   * Waits for the agent's lease (until the deadline, or until `gone` aborts), then runs the
   * turn under it; `lease` aborts if the lease is lost meanwhile.
   */
  async hold<T>(
    agentId: string,
    turn: (signal: AbortSignal, start: TurnStart) => Promise<T>,
    lease: AbortController,
    wait: { deadline: number; waitMs: number; gone: AbortSignal },
  ): Promise<T> {
    const { db } = this;
    let start = await this.#acquire(agentId);
    while (!start) {
      const [exists] = await db
        .select({ id: agents.id })
        .from(agents)
        .where(eq(agents.id, agentId));
      if (!exists) throw new AppError('NOT_FOUND', `Agent ${agentId} not found`);
      if (Date.now() > wait.deadline) throw busy(wait.waitMs);
      wait.gone.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      start = await this.#acquire(agentId);
    }
    const started = start;
    return await this.#holding(agentId, (signal) => turn(signal, started), lease);
  }

  /** Runs the turn under the lease just taken, renewing it, and lets it go after. */
  async #holding<T>(
    agentId: string,
    turn: (signal: AbortSignal) => Promise<T>,
    lease: AbortController,
  ): Promise<T> {
    const { leaseMs, renewMs } = this.timing;
    let renewedAt = Date.now();
    const lose = (why: string) => {
      clearInterval(renew);
      if (lease.signal.aborted) return;
      lease.abort(new AppError('CONFLICT', `The turn was stopped: ${why}; no reply was stored`));
    };
    const renew = setInterval(() => {
      void this.#extend(agentId).then(
        (held) => {
          if (held) renewedAt = Date.now();
          else lose('another instance took the agent over');
        },
        () => {
          // Stop before the lease can run out under us, not after.
          if (Date.now() - renewedAt >= leaseMs - renewMs) lose('its lease could not be renewed');
        },
      );
    }, renewMs);
    try {
      return await turn(lease.signal);
    } finally {
      clearInterval(renew);
      // If the database is gone this fails too; the lease then runs out by itself.
      await this.db
        .update(agents)
        .set({ turnHolder: null, turnLeaseUntil: null })
        .where(and(eq(agents.id, agentId), eq(agents.turnHolder, this.#holder)))
        .catch(() => {});
    }
  }

  /**
   * Takes the agent's lease if it is free, ran out, or is our own; says whether it was
   * another instance's that ran out (that instance died mid-turn). The row is locked first,
   * so the holder read is the one replaced.
   */
  async #acquire(agentId: string): Promise<TurnStart | undefined> {
    const result = await this.db.execute(sql`
      with previous as (
        select id, turn_holder, turn_lease_until from agents where id = ${agentId} for update
      )
      update agents
      set turn_holder = ${this.#holder},
          turn_lease_until = now() + ${`${this.timing.leaseMs} milliseconds`}::interval
      from previous
      where agents.id = previous.id
        and (previous.turn_holder is null
          or previous.turn_lease_until < now()
          -- Our own lease, left behind when a release failed (the database was down): the
          -- mutex says no turn of ours is running, so it is stale.
          or previous.turn_holder = ${this.#holder})
      returning coalesce(previous.turn_holder <> ${this.#holder}, false) as "tookOver"`);
    const [row] = rowsOf<{ tookOver: boolean }>(result);
    return row && { tookOver: row.tookOver };
  }

  /** False when the lease is no longer ours. */
  async #extend(agentId: string): Promise<boolean> {
    const extended = await this.db
      .update(agents)
      .set({ turnLeaseUntil: sql`now() + ${`${this.timing.leaseMs} milliseconds`}::interval` })
      .where(and(eq(agents.id, agentId), eq(agents.turnHolder, this.#holder)))
      .returning({ id: agents.id });
    return extended.length > 0;
  }
}
