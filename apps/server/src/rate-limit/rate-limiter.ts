import { lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rateLimitCounters } from '../db/schema.js';

export interface RateRule {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Counter {
  windowStart: number;
  /** What the cluster had counted at the last sync (this instance included). */
  shared: number;
  /** Counted here since the last sync. */
  pending: number;
}

/**
 * Fixed-window rate limits that hold across instances. A decision is an in-memory lookup
 * (the hot path never waits for the database); every `syncMs` the instance adds its new
 * counts to `rate_limit_counters` in one statement and reads back the cluster's totals.
 * Overshoot is bounded by (instances - 1) × rate × syncMs.
 */
export class RateLimiter {
  readonly #counters = new Map<string, Counter>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;

  constructor(
    private readonly db: Database | undefined,
    private readonly now: () => Date,
    syncMs = 250,
  ) {
    if (db) {
      this.#timer = setInterval(() => void this.sync().catch(() => {}), syncMs);
      this.#timer.unref();
    }
  }

  consume(key: string, rule: RateRule): RateDecision {
    return this.#decide(key, rule, true);
  }

  /**
   * The decision `consume` would make, without counting a request: for limits on failures,
   * which are checked before the attempt and counted only when it fails.
   */
  check(key: string, rule: RateRule): RateDecision {
    return this.#decide(key, rule, false);
  }

  #decide(key: string, rule: RateRule, count: boolean): RateDecision {
    const nowMs = this.now().getTime();
    const windowStart = nowMs - (nowMs % rule.windowMs);
    const id = `${key}|${rule.windowMs}`;
    let counter = this.#counters.get(id);
    if (!counter || counter.windowStart !== windowStart) {
      counter = { windowStart, shared: 0, pending: 0 };
      this.#counters.set(id, counter);
    }
    if (counter.shared + counter.pending >= rule.limit) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((windowStart + rule.windowMs - nowMs) / 1000)),
      };
    }
    if (count) counter.pending++;
    return { allowed: true };
  }

  /** Adds local counts to the shared table and learns the cluster's totals. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const db = this.db;
    if (!db) return;
    const nowMs = this.now().getTime();
    for (const [id, counter] of this.#counters) {
      // Windows that ended can no longer refuse anything.
      const windowMs = Number(id.slice(id.lastIndexOf('|') + 1));
      if (counter.windowStart + windowMs <= nowMs && counter.pending === 0)
        this.#counters.delete(id);
    }
    // Every live window goes, even with nothing new here, to learn what the others counted.
    const sent = [...this.#counters.entries()].map(([id, c]) => ({
      id,
      windowStart: c.windowStart,
      pending: c.pending,
    }));
    if (sent.length === 0) return;
    for (const counter of this.#counters.values()) counter.pending = 0;
    try {
      const rows = await db
        .insert(rateLimitCounters)
        .values(
          sent.map((s) => ({ key: s.id, windowStart: new Date(s.windowStart), count: s.pending })),
        )
        .onConflictDoUpdate({
          target: [rateLimitCounters.key, rateLimitCounters.windowStart],
          set: { count: sql`${rateLimitCounters.count} + excluded.count` },
        })
        .returning();
      for (const row of rows) {
        const counter = this.#counters.get(row.key);
        if (counter && counter.windowStart === row.windowStart.getTime())
          counter.shared = row.count;
      }
    } catch (error) {
      // Keep the counts for the next try rather than forgetting them.
      for (const s of sent) {
        const counter = this.#counters.get(s.id);
        if (counter && counter.windowStart === s.windowStart) counter.pending += s.pending;
      }
      throw error;
    }
  }

  /** Drops windows that ended long ago from the shared table. */
  async sweep(olderThanMs: number): Promise<void> {
    await this.db
      ?.delete(rateLimitCounters)
      .where(lt(rateLimitCounters.windowStart, new Date(this.now().getTime() - olderThanMs)));
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.sync().catch(() => {});
  }
}
