import { eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyBearer } from '../src/auth/verify-bearer.js';
import { apiKeys, clientTokens } from '../src/db/schema.js';
import { LastUsedRecorder } from '../src/infra/last-used.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ clock });
let minted: { id: string; token: string };

beforeEach(async () => {
  minted = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
  });
});

const useToken = () =>
  verifyBearer(s.deps, { authorization: `Bearer ${minted.token}`, origin: APP_ORIGIN });
const useKey = () =>
  verifyBearer(s.deps, { authorization: `Bearer ${s.acme.apiKey}`, origin: undefined });

async function lastUsed() {
  const [token] = await s.deps.db
    .select({ at: clientTokens.lastUsedAt })
    .from(clientTokens)
    .where(eq(clientTokens.id, minted.id));
  const [key] = await s.deps.db
    .select({ at: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(eq(apiKeys.id, s.acme.apiKeyId));
  return { token: token?.at ?? null, key: key?.at ?? null };
}

describe('last_used_at, written behind', () => {
  it('costs a request no write: uses wait in memory, one entry per credential', async () => {
    for (let i = 0; i < 50; i++) {
      await useToken();
      await useKey();
      clock.advance(1_000);
    }
    expect(s.deps.lastUsed.pending).toBe(2);
    expect(await lastUsed()).toEqual({ token: null, key: null });
  });

  it('writes the latest use of every credential in one flush', async () => {
    await useToken();
    await useKey();
    clock.advance(30_000);
    await useToken();
    const latest = clock.now();
    expect(await s.deps.lastUsed.flush()).toBe(2);
    const written = await lastUsed();
    expect(written.token?.getTime()).toBe(latest.getTime());
    expect(written.key).toBeInstanceOf(Date);
    expect(s.deps.lastUsed.pending).toBe(0);
    expect(await s.deps.lastUsed.flush()).toBe(0);
  });

  it('never moves last_used_at backwards', async () => {
    const later = new Date(clock.now().getTime() + 60_000);
    await s.deps.db
      .update(clientTokens)
      .set({ lastUsedAt: later })
      .where(eq(clientTokens.id, minted.id));
    await useToken();
    await s.deps.lastUsed.flush();
    expect((await lastUsed()).token?.getTime()).toBe(later.getTime());
  });

  it('writes batches larger than one statement takes', async () => {
    const recorder = new LastUsedRecorder(s.deps.db);
    const at = clock.now();
    recorder.record('clientToken', minted.id, at);
    for (let i = 0; i < 2_500; i++) recorder.record('clientToken', `tok-missing-${i}`, at);
    recorder.record('apiKey', s.acme.apiKeyId, at);
    await recorder.close();
    expect(recorder.pending).toBe(0);
    const written = await lastUsed();
    expect([written.token?.getTime(), written.key?.getTime()]).toEqual([
      at.getTime(),
      at.getTime(),
    ]);
  });

  it('warns once when its timed flushes fail, keeps the uses, and says when it recovers', async () => {
    const warnings: string[] = [];
    const recorder = new LastUsedRecorder(s.deps.db, {
      flushMs: 20,
      warn: (message) => warnings.push(message),
    });
    const until = async (condition: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await condition()); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await s.database.db.execute(sql`alter table client_tokens rename to client_tokens_away`);
    try {
      recorder.record('clientToken', minted.id, clock.now());
      await until(() => warnings.length > 0);
      // Several timed flushes fail in a row; one warning says so.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /Writing last-used times failed \(42P01\); 1 credentials' uses are kept/,
      );
      expect(warnings[0]).not.toContain(minted.id);
    } finally {
      await s.database.db.execute(sql`alter table client_tokens_away rename to client_tokens`);
    }
    // Kept through the failures: written by the first timed flush that works.
    await until(async () => (await lastUsed()).token !== null);
    expect((await lastUsed()).token).toBeInstanceOf(Date);
    await until(() => warnings.length > 1);
    expect(warnings[1]).toMatch(/recovered/);
    await recorder.close();
  });

  it('flushes on its own every flushMs, and on close', async () => {
    const recorder = new LastUsedRecorder(s.deps.db, { flushMs: 20 });
    recorder.record('clientToken', minted.id, clock.now());
    for (let i = 0; i < 100 && (await lastUsed()).token === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await lastUsed()).token).toBeInstanceOf(Date);
    recorder.record('apiKey', s.acme.apiKeyId, clock.now());
    await recorder.close();
    expect((await lastUsed()).key).toBeInstanceOf(Date);
  });
});
