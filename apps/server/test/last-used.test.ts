import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LastUsedRecorder } from '../src/auth/last-used.js';
import { verifyBearer } from '../src/auth/verify-bearer.js';
import { apiKeys, clientTokens } from '../src/db/schema.js';
import { mintClientToken } from '../src/services/client-tokens.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';

let database: TestDatabase;
let deps: ServiceDeps;
const clock = new TestClock();
let acme: SeededOrganization;
let minted: { id: string; token: string };

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock);
});
afterAll(() => database.close());
beforeEach(async () => {
  clock.reset();
  await deps.lastUsed.flush();
  await database.reset();
  acme = await seedOrganization(deps, 'acme');
  minted = await mintClientToken(deps, {
    organizationId: acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
  });
});

const useToken = () =>
  verifyBearer(deps, { authorization: `Bearer ${minted.token}`, origin: APP_ORIGIN });
const useKey = () =>
  verifyBearer(deps, { authorization: `Bearer ${acme.apiKey}`, origin: undefined });

async function lastUsed() {
  const [token] = await deps.db
    .select({ at: clientTokens.lastUsedAt })
    .from(clientTokens)
    .where(eq(clientTokens.id, minted.id));
  const [key] = await deps.db
    .select({ at: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(eq(apiKeys.id, acme.apiKeyId));
  return { token: token?.at ?? null, key: key?.at ?? null };
}

describe('last_used_at, written behind', () => {
  it('costs a request no write: uses wait in memory, one entry per credential', async () => {
    for (let i = 0; i < 50; i++) {
      await useToken();
      await useKey();
      clock.advance(1_000);
    }
    expect(deps.lastUsed.pending).toBe(2);
    expect(await lastUsed()).toEqual({ token: null, key: null });
  });

  it('writes the latest use of every credential in one flush', async () => {
    await useToken();
    await useKey();
    clock.advance(30_000);
    await useToken();
    const latest = clock.now();
    expect(await deps.lastUsed.flush()).toBe(2);
    const written = await lastUsed();
    expect(written.token?.getTime()).toBe(latest.getTime());
    expect(written.key).toBeInstanceOf(Date);
    expect(deps.lastUsed.pending).toBe(0);
    expect(await deps.lastUsed.flush()).toBe(0);
  });

  it('never moves last_used_at backwards', async () => {
    const later = new Date(clock.now().getTime() + 60_000);
    await deps.db
      .update(clientTokens)
      .set({ lastUsedAt: later })
      .where(eq(clientTokens.id, minted.id));
    await useToken();
    await deps.lastUsed.flush();
    expect((await lastUsed()).token?.getTime()).toBe(later.getTime());
  });

  it('writes batches larger than one statement takes', async () => {
    const recorder = new LastUsedRecorder(deps.db);
    const at = clock.now();
    recorder.record('clientToken', minted.id, at);
    for (let i = 0; i < 2_500; i++) recorder.record('clientToken', `tok-missing-${i}`, at);
    recorder.record('apiKey', acme.apiKeyId, at);
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
    const recorder = new LastUsedRecorder(deps.db, {
      flushMs: 20,
      warn: (message) => warnings.push(message),
    });
    const until = async (condition: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await condition()); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await database.db.execute(sql`alter table client_tokens rename to client_tokens_away`);
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
      await database.db.execute(sql`alter table client_tokens_away rename to client_tokens`);
    }
    // Kept through the failures: written by the first timed flush that works.
    await until(async () => (await lastUsed()).token !== null);
    expect((await lastUsed()).token).toBeInstanceOf(Date);
    await until(() => warnings.length > 1);
    expect(warnings[1]).toMatch(/recovered/);
    await recorder.close();
  });

  it('flushes on its own every flushMs, and on close', async () => {
    const recorder = new LastUsedRecorder(deps.db, { flushMs: 20 });
    recorder.record('clientToken', minted.id, clock.now());
    for (let i = 0; i < 100 && (await lastUsed()).token === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await lastUsed()).token).toBeInstanceOf(Date);
    recorder.record('apiKey', acme.apiKeyId, clock.now());
    await recorder.close();
    expect((await lastUsed()).key).toBeInstanceOf(Date);
  });
});
