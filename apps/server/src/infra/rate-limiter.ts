import { lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { errorCode } from '../db/error-code.js';
import { rateLimitCounters } from '../db/schema.js';

const COUNTER_RETAIN_MS = 24 * 60 * 60 * 1000;

export interface RateRule {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Shared by every allowed request: a decision on the hot path allocates nothing. */
const ALLOWED: RateDecision = Object.freeze({ allowed: true });

interface Counter {
  windowStart: number;
  windowMs: number;
  /** What the cluster had counted at the last sync (this instance included). */
  shared: number;
  /** Counted here since the last sync. */
  pending: number;
}

/**
 * Fixed-window rate limits that hold across instances. A decision is an in-memory lookup
 * (the hot path never waits for the database); every `syncMs` the instance adds the counts
 * of keys that saw requests since the last sync to `rate_limit_counters` and reads back the
 * cluster's totals of every key it has live, so a row is written only when this instance
 * counted something new for it. Overshoot is bounded by (instances - 1) × rate × syncMs.
 */
export class RateLimiter {
  readonly #counters = new Map<string, Counter>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /** When the earliest live window ends: the next time a prune can drop anything. */
  #nextPruneMs = Number.POSITIVE_INFINITY;
  #failing = false;

  constructor(
    private readonly db: Database | undefined,
    private readonly now: () => Date,
    syncMs = 250,
    /** Told once when syncing starts failing (limits are then per instance) and once when it recovers. */
    private readonly warn: (message: string) => void = (message) => process.emitWarning(message),
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

  /** How many key-and-window counters are held in memory. */
  get size(): number {
    return this.#counters.size;
  }

  #decide(key: string, rule: RateRule, count: boolean): RateDecision {
    const nowMs = this.now().getTime();
    if (nowMs >= this.#nextPruneMs) this.#prune(nowMs);
    const windowStart = nowMs - (nowMs % rule.windowMs);
    const id = `${key}|${rule.windowMs}`;
    let counter = this.#counters.get(id);
    if (!counter || counter.windowStart !== windowStart) {
      counter = { windowStart, windowMs: rule.windowMs, shared: 0, pending: 0 };
      this.#counters.set(id, counter);
      this.#nextPruneMs = Math.min(this.#nextPruneMs, windowStart + rule.windowMs);
    }
    if (counter.shared + counter.pending >= rule.limit) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((windowStart + rule.windowMs - nowMs) / 1000)),
      };
    }
    if (count) counter.pending++;
    return ALLOWED;
  }

  /** Windows that ended can no longer refuse anything, here or on another instance. */
  #prune(nowMs: number) {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, counter] of this.#counters) {
      const end = counter.windowStart + counter.windowMs;
      if (end <= nowMs) this.#counters.delete(id);
      else next = Math.min(next, end);
    }
    this.#nextPruneMs = next;
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
    this.#prune(this.now().getTime());
    const counted: { key: string; window_start: string; count: number }[] = [];
    const countedFrom: Counter[] = [];
    const idle: { key: string; window_start: string }[] = [];
    for (const [key, counter] of this.#counters) {
      const window_start = new Date(counter.windowStart).toISOString();
      if (counter.pending > 0) {
        counted.push({ key, window_start, count: counter.pending });
        countedFrom.push(counter);
        counter.pending = 0;
      } else idle.push({ key, window_start });
    }
    if (counted.length === 0 && idle.length === 0) return;
    let added = false;
    try {
      // Each batch travels as one JSON parameter: PostgreSQL allows 65,535 parameters a
      // statement, which one parameter per value would pass at about 21,845 keys.
      const totals =
        counted.length === 0
          ? []
          : await db
              .insert(rateLimitCounters)
              .select(
                sql`select key, window_start, count from jsonb_to_recordset(${JSON.stringify(counted)}::jsonb) as x(key text, window_start timestamptz, count integer)`,
              )
              .onConflictDoUpdate({
                target: [rateLimitCounters.key, rateLimitCounters.windowStart],
                set: { count: sql`${rateLimitCounters.count} + excluded.count` },
              })
              .returning();
      added = true;
      // Keys with nothing new here are only read: the others may have counted them.
      const learned =
        idle.length === 0
          ? []
          : await db
              .select()
              .from(rateLimitCounters)
              .where(
                sql`(${rateLimitCounters.key}, ${rateLimitCounters.windowStart}) in (select key, window_start from jsonb_to_recordset(${JSON.stringify(idle)}::jsonb) as x(key text, window_start timestamptz))`,
              );
      for (const row of [...totals, ...learned]) {
        const counter = this.#counters.get(row.key);
        if (counter && counter.windowStart === row.windowStart.getTime())
          counter.shared = Math.max(counter.shared, row.count);
      }
      if (this.#failing) {
        this.#failing = false;
        this.warn('Rate-limit sync recovered: limits are shared across instances again');
      }
    } catch (error) {
      // Keep counts the table did not take for the next try rather than forgetting them.
      if (!added) {
        counted.forEach((c, i) => {
          const counter = countedFrom[i];
          if (counter && this.#counters.get(c.key) === counter) counter.pending += c.count;
        });
      }
      if (!this.#failing) {
        this.#failing = true;
        this.warn(
          `Rate-limit sync failed (${errorCode(error)}); limits hold per instance until it recovers`,
        );
      }
      throw error;
    }
  }

  /**
   * Drops windows that ended long ago from the shared table. A day is longer than any window
   * the limits use (an hour at most), so no live count is ever reset.
   */
  async sweep(olderThanMs = COUNTER_RETAIN_MS): Promise<void> {
    await this.db
      ?.delete(rateLimitCounters)
      .where(lt(rateLimitCounters.windowStart, new Date(this.now().getTime() - olderThanMs)));
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.sync().catch(() => {});
  }
}
