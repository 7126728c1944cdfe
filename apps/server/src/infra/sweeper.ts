import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import type { ServiceDeps } from '../deps.js';

export interface SweepOptions {
  /**
   * How long an expired or revoked token is kept: until then a request with it is told
   * why it fails ("expired at …", "revoked") rather than just "invalid".
   */
  retainMs: number;
  /** Rows per DELETE, so a large backlog never holds many locks for long. */
  batchSize?: number;
}

export interface SweepResult {
  deletedTokens: number;
  deletedSessions: number;
}

/**
 * Deletes client-side tokens (and records of those minted at Letta) that expired or were revoked more than `retainMs` ago, log-in
 * sessions that expired (one reads as unknown once expired, so none is kept), and rate-limit
 * windows that ended long enough ago. Safe to run on several instances at once: each batch
 * takes its rows with `FOR UPDATE SKIP LOCKED`, so concurrent sweeps split the work instead
 * of waiting on each other, and a row is deleted once.
 */
export async function sweepExpired(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'rateLimiter'>,
  options: SweepOptions,
): Promise<SweepResult> {
  const now = deps.now();
  const tokenCutoff = new Date(now.getTime() - options.retainMs);
  const batchSize = options.batchSize ?? 1000;
  const sweep = async (target: SweepTarget, cutoff: Date) => {
    let deleted = 0;
    for (;;) {
      const batch = await deleteBatch(deps.db, target, cutoff, batchSize);
      deleted += batch;
      if (batch < batchSize) return deleted;
    }
  };
  // Two conditions, two statements: each walks its own index.
  const deletedTokens =
    (await sweep({ table: 'client_tokens', key: 'id', column: 'expires_at' }, tokenCutoff)) +
    (await sweep({ table: 'client_tokens', key: 'id', column: 'revoked_at' }, tokenCutoff)) +
    // The record of tokens minted at Letta (letta-host/): a revoked one expires soon after.
    (await sweep({ table: 'letta_tokens', key: 'id', column: 'expires_at' }, tokenCutoff));
  const deletedSessions = await sweep(
    { table: 'sessions', key: 'id_hash', column: 'expires_at' },
    now,
  );
  // Counters keep their own retention: a short token retention must not reset an hourly limit.
  await deps.rateLimiter.sweep();
  return { deletedTokens, deletedSessions };
}

/** A table, its key, and the indexed time after which (plus a retention) its rows may go. */
interface SweepTarget {
  table: 'client_tokens' | 'letta_tokens' | 'sessions';
  key: 'id' | 'id_hash';
  column: 'expires_at' | 'revoked_at';
}

async function deleteBatch(
  db: Database,
  { table, key, column }: SweepTarget,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  const result = await db.execute(sql`
    delete from ${sql.identifier(table)} where ${sql.identifier(key)} in (
      select ${sql.identifier(key)} from ${sql.identifier(table)}
      where ${sql.identifier(column)} < ${cutoff.toISOString()}::timestamptz
      limit ${batchSize} for update skip locked)
    returning 1`);
  return rowsOf(result).length;
}

/** Runs `sweepExpired` every `intervalMs`, give or take a random tenth so instances spread out. */
export class Sweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'db' | 'now' | 'rateLimiter'>,
    private readonly options: SweepOptions & {
      intervalMs: number;
      onError?: (error: unknown) => void;
    },
  ) {
    this.#schedule();
  }

  #schedule() {
    if (this.#stopped) return;
    const { intervalMs } = this.options;
    const delay = intervalMs * (0.9 + Math.random() * 0.2);
    this.#timer = setTimeout(() => {
      this.#running = sweepExpired(this.deps, this.options)
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
