import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NOTIFY_BYTES } from '../src/infra/notify-parts.js';
import { PostgresBus } from '../src/infra/postgres-bus.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';

// PostgreSQL only: publishes made at the same time share NOTIFY statements (NotifyBatch),
// heard by a second bus on its own connection as another instance would.
let database: TestDatabase;
let listener: PostgresBus;

beforeAll(async () => {
  database = await openTestDatabase();
  if (!database.sql) throw new Error('PostgreSQL expected');
  listener = new PostgresBus(database.sql);
});
afterAll(async () => {
  await listener.close();
  await database.close();
});

/** A bus whose statements are counted: the real connection, every query passed through. */
function countingBus(sql: postgres.Sql) {
  const counted = { statements: 0 };
  const through = new Proxy(sql, {
    apply(target, self, args) {
      counted.statements++;
      return Reflect.apply(target, self, args);
    },
  });
  return { bus: new PostgresBus(through), counted };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('publishes made at the same time', () => {
  it('share statements, and every channel hears its events in the order published', async () => {
    const sql = database.sql as postgres.Sql;
    const { bus, counted } = countingBus(sql);
    const channels = Array.from({ length: 20 }, (_, c) => `scopekit_test_batch_${c}`);
    const heard = new Map<string, number[]>(channels.map((channel) => [channel, []]));
    const stops = await Promise.all(
      channels.map((channel) =>
        listener.subscribe(channel, (payload) =>
          heard.get(channel)?.push((payload as { n: number }).n),
        ),
      ),
    );
    const before = counted.statements;
    // Interleaved across channels, none awaited before the next: a reply's pieces and
    // other turns' pieces as they arrive from the models.
    const published: Promise<void>[] = [];
    for (let n = 0; n < 100; n++) {
      for (const channel of channels) published.push(bus.publish(channel, { n }));
    }
    await Promise.all(published);
    const statements = counted.statements - before;
    await until(
      () => [...heard.values()].every((list) => list.length === 100),
      'every event on every channel',
    );
    for (const list of heard.values())
      expect(list).toEqual(Array.from({ length: 100 }, (_, n) => n));
    // 2,000 publishes: the first goes alone, the rest wait for it and go out together.
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThanOrEqual(10);
    await Promise.all(stops.map((stop) => stop()));
    await bus.close();
  });

  it('delivers identical events published together as many times as published', async () => {
    // PostgreSQL delivers identical notifications of one transaction once.
    const { bus } = countingBus(database.sql as postgres.Sql);
    const heard: unknown[] = [];
    const stop = await listener.subscribe('scopekit_test_batch_same', (p) => heard.push(p));
    await Promise.all(
      [1, 2, 3].map(() => bus.publish('scopekit_test_batch_same', { cancel: 'run-1' })),
    );
    await until(() => heard.length === 3, 'three copies');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([{ cancel: 'run-1' }, { cancel: 'run-1' }, { cancel: 'run-1' }]);
    await stop();
    await bus.close();
  });

  it('keeps an event cut into parts whole among small ones published with it', async () => {
    const { bus } = countingBus(database.sql as postgres.Sql);
    const heard: { n: number; text: string }[] = [];
    const stop = await listener.subscribe('scopekit_test_batch_parts', (p) =>
      heard.push(p as { n: number; text: string }),
    );
    const long = 'ünï €uro '.repeat(Math.ceil((3 * MAX_NOTIFY_BYTES) / 12));
    await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        bus.publish('scopekit_test_batch_parts', { n, text: n === 2 ? long : 'short' }),
      ),
    );
    await until(() => heard.length === 5, 'five events');
    expect(heard.map((e) => e.n)).toEqual([0, 1, 2, 3, 4]);
    expect(heard[2]?.text).toBe(long);
    await stop();
    await bus.close();
  });

  it('refuses a channel PostgreSQL cannot name, alone, and sends the rest', async () => {
    const { bus } = countingBus(database.sql as postgres.Sql);
    const heard: unknown[] = [];
    const stop = await listener.subscribe('scopekit_test_batch_ok', (p) => heard.push(p));
    const results = await Promise.allSettled([
      bus.publish('scopekit_test_batch_ok', { n: 1 }),
      bus.publish('x'.repeat(64), { n: 2 }),
      bus.publish('scopekit_test_batch_ok', { n: 3 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(
      /channel name must be 1 to 63 bytes; got 64/,
    );
    await until(() => heard.length === 2, 'the two valid events');
    expect(heard).toEqual([{ n: 1 }, { n: 3 }]);
    await stop();
    await bus.close();
  });
});
