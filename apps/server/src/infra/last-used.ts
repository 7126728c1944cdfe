import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { errorCode } from '../db/error-code.js';

export type CredentialKind = 'apiKey' | 'clientToken';

const TABLES: Record<CredentialKind, string> = { apiKey: 'api_keys', clientToken: 'client_tokens' };

/** Rows per UPDATE: two parameters each, well under PostgreSQL's 65,535. */
const BATCH_ROWS = 1000;

/**
 * `last_used_at` is a hint for people, not an audit log, so it is written behind: each use
 * is a map entry, and every `flushMs` (a minute) one `UPDATE … FROM (VALUES …)` per table
 * writes the latest use of every credential seen since. A credential is therefore written
 * at most once a flush per instance, however busy it is, and a request never waits on it.
 */
export class LastUsedRecorder {
  #pending: Record<CredentialKind, Map<string, Date>> = {
    apiKey: new Map(),
    clientToken: new Map(),
  };
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<number> | undefined;
  #failing = false;
  readonly #warn: (message: string) => void;

  constructor(
    private readonly db: Database,
    options: {
      flushMs?: number;
      /** Told once when timed flushes start failing (uses are kept) and once when they recover. */
      warn?: (message: string) => void;
    } = {},
  ) {
    this.#warn = options.warn ?? ((message) => process.emitWarning(message));
    this.#timer = setInterval(() => void this.#timedFlush(), options.flushMs ?? 60_000);
    this.#timer.unref();
  }

  async #timedFlush(): Promise<void> {
    try {
      await this.flush();
      if (this.#failing) {
        this.#failing = false;
        this.#warn('Writing last-used times recovered');
      }
    } catch (error) {
      if (this.#failing) return;
      this.#failing = true;
      // The code only: the statement's parameters are credential ids.
      this.#warn(
        `Writing last-used times failed (${errorCode(error)}); ${this.pending} credentials' uses are kept for the next flush`,
      );
    }
  }

  record(kind: CredentialKind, id: string, at: Date): void {
    this.#pending[kind].set(id, at);
  }

  /** How many credentials wait to be written. */
  get pending(): number {
    return this.#pending.apiKey.size + this.#pending.clientToken.size;
  }

  /**
   * Writes what was recorded and says for how many credentials; one flush at a time, and
   * what a failed one could not write is kept for the next.
   */
  flush(): Promise<number> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#flushing?.catch(() => {});
    await this.flush();
  }

  async #flush(): Promise<number> {
    const taken = this.#pending;
    this.#pending = { apiKey: new Map(), clientToken: new Map() };
    let written = 0;
    try {
      for (const kind of ['apiKey', 'clientToken'] as const) {
        const uses = [...taken[kind]];
        for (let start = 0; start < uses.length; start += BATCH_ROWS) {
          const batch = uses.slice(start, start + BATCH_ROWS);
          await this.#write(kind, batch);
          for (const [id] of batch) taken[kind].delete(id);
          written += batch.length;
        }
      }
    } catch (error) {
      // Put back what was not written, unless a newer use came in meanwhile.
      for (const kind of ['apiKey', 'clientToken'] as const) {
        for (const [id, at] of taken[kind]) {
          const newer = this.#pending[kind].get(id);
          if (!newer || newer < at) this.#pending[kind].set(id, at);
        }
      }
      throw error;
    }
    return written;
  }

  async #write(kind: CredentialKind, uses: [string, Date][]): Promise<void> {
    const values = sql.join(
      uses.map(([id, at]) => sql`(${id}, ${at.toISOString()}::timestamptz)`),
      sql`, `,
    );
    const table = sql.identifier(TABLES[kind]);
    // Never move the time backwards: another instance may have written a later use.
    await this.db.execute(sql`
      update ${table} as t set last_used_at = v.at
      from (values ${values}) as v(id, at)
      where t.id = v.id and (t.last_used_at is null or t.last_used_at < v.at)`);
  }
}
