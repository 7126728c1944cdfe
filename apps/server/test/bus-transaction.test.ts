import { count, eq } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { organizations } from '../src/db/schema.js';
import { MAX_NOTIFY_BYTES } from '../src/infra/notify-parts.js';
import { useTestEnvironment } from './support/suite.js';

// Both buses: in one process (PGlite) and through NOTIFY (PostgreSQL).
const env = useTestEnvironment();
const channel = 'bus_transaction_test';

async function listening() {
  const heard: unknown[] = [];
  const stop = await env.deps.bus.subscribe(channel, (payload) => heard.push(payload));
  return { heard, stop };
}

const named = async (name: string) =>
  (
    await env.database.db
      .select({ n: count() })
      .from(organizations)
      .where(eq(organizations.name, name))
  )[0]?.n;

describe("a transaction's events", () => {
  it('are delivered once it commits, in order, a large one whole', async () => {
    const { heard, stop } = await listening();
    const large = { text: 'ü'.repeat(MAX_NOTIFY_BYTES) };
    await env.deps.bus.transaction(env.database.db, async (tx, publish) => {
      await tx.insert(organizations).values({ id: 'org-committed', name: 'committed' });
      await publish(channel, [{ n: 1 }, large, { n: 3 }]);
      await publish(channel, [{ n: 4 }]);
      expect(heard).toEqual([]);
    });
    await vi.waitFor(() => expect(heard).toHaveLength(4));
    expect(heard).toEqual([{ n: 1 }, large, { n: 3 }, { n: 4 }]);
    await stop();
  });

  it('are never delivered when it rolls back', async () => {
    const { heard, stop } = await listening();
    const failure = new Error('the write failed after publishing');
    await expect(
      env.deps.bus.transaction(env.database.db, async (tx, publish) => {
        await tx.insert(organizations).values({ id: 'org-rolled-back', name: 'rolled back' });
        await publish(channel, [{ n: 'rolled back' }]);
        throw failure;
      }),
    ).rejects.toBe(failure);
    // Events arrive in order: had the rolled-back one been delivered, it would come first.
    await env.deps.bus.publish(channel, { n: 'after' });
    await vi.waitFor(() => expect(heard).toEqual([{ n: 'after' }]));
    expect(await named('rolled back')).toBe(0);
    await stop();
  });

  it('roll the write back when one of them cannot be sent', async () => {
    await expect(
      env.deps.bus.transaction(env.database.db, async (tx, publish) => {
        await tx.insert(organizations).values({ id: 'org-unsent', name: 'unsent' });
        await publish(channel, [{ n: 10n }]);
      }),
    ).rejects.toThrow(/BigInt/);
    expect(await named('unsent')).toBe(0);
  });
});
