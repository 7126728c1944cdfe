import type postgres from 'postgres';

interface Pending {
  channel: string;
  texts: string[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Bounds one batch's parameter. */
const MAX_BATCH_BYTES = 1 << 20;
/** PostgreSQL's identifiers, channel names included, are shorter than NAMEDATALEN (64) bytes. */
const MAX_CHANNEL_BYTES = 63;

/**
 * The NOTIFYs published outside a transaction (a reply's pieces as the model streams them, a
 * turn's stop, a cancel), sent in as few statements as the database lets through.
 *
 * PostgreSQL serializes every transaction that notifies, across the whole cluster, from just
 * before its commit until after it (so that notifications are queued in commit order), and a
 * commit waits for its WAL to reach the disk. So notifying transactions cannot share a flush
 * the way other commits do: measured on the 2-core machine, about 900 a second in all, where
 * 1,000 replies streaming at once need 20,000 pieces a second. Two things lift that limit:
 * - one statement at a time: publishes made while one is in flight wait and go out together
 *   in the next, in the order made, so the rate of statements stays what the database
 *   answers and the rate of events follows the load; one statement also keeps every
 *   channel's events in publish order;
 * - its commit does not wait for the disk (`synchronous_commit` off for that transaction
 *   alone): these events store nothing, so a database crash can lose only notifications
 *   whose subscribers are cut off by that crash anyway (they hear `lost`).
 * Writes and their announcements still go together in the writer's own transaction
 * (`EventBus.transaction`), durably.
 */
export class NotifyBatch {
  #waiting: Pending[] = [];
  #sending = false;

  constructor(private readonly sql: postgres.Sql) {}

  /** Resolves once `texts` (one event's payloads, in order) are committed on `channel`. */
  send(channel: string, texts: string[]): Promise<void> {
    // Refused here, alone: in a batch it would fail every publish sharing the statement.
    const bytes = Buffer.byteLength(channel);
    if (bytes === 0 || bytes > MAX_CHANNEL_BYTES) {
      return Promise.reject(
        new Error(`A channel name must be 1 to ${MAX_CHANNEL_BYTES} bytes; got ${bytes}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ channel, texts, resolve, reject });
      if (!this.#sending) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#take();
        try {
          await this.#notify(batch);
          for (const pending of batch) pending.resolve();
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  /**
   * The next batch: publishes in order up to MAX_BATCH_BYTES, stopping before one that would
   * repeat a notification already in it, because PostgreSQL delivers identical notifications
   * (same channel and text) of one transaction only once.
   */
  #take(): Pending[] {
    const seen = new Set<string>();
    let bytes = 0;
    let count = 0;
    for (const pending of this.#waiting) {
      const keys = pending.texts.map((text) => `${pending.channel}\n${text}`);
      const size = pending.texts.reduce((sum, text) => sum + text.length, 0);
      if (count > 0 && (bytes + size > MAX_BATCH_BYTES || keys.some((key) => seen.has(key)))) {
        break;
      }
      for (const key of keys) seen.add(key);
      bytes += size;
      count++;
    }
    return this.#waiting.splice(0, count);
  }

  /** One statement; the sort runs before pg_notify, so they go out in the order given. */
  async #notify(batch: Pending[]): Promise<void> {
    const rows = batch.flatMap(({ channel, texts }) => texts.map((text) => [channel, text]));
    await this.sql`
      select pg_notify(sent.item ->> 0, sent.item ->> 1)
      from (select set_config('synchronous_commit', 'off', true)) as settings,
        json_array_elements(${JSON.stringify(rows)}::json) with ordinality as sent(item, place)
      order by sent.place`;
  }
}
