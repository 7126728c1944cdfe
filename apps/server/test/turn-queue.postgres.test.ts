import { eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { listMessages, sendMessages } from '../src/conversation/messages.js';
import { TurnQueue } from '../src/conversation/turn-queue.js';
import { openDatabase } from '../src/db/client.js';
import { agents, messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { SlowRuntime } from './support/slow-runtime.js';
import { useSuite } from './support/suite.js';

const s = useSuite();

it('queues one agent’s turns across instances through a lease on the agent’s row', async () => {
  const slow = new SlowRuntime();
  // Two instances: each its own in-process queue, so only the s.database lock can serialize them.
  const instances = [0, 1].map(() => ({
    ...s.deps,
    agentRuntime: slow,
    turns: new TurnQueue(s.database.db),
  }));
  const texts = ['a', 'b', 'c', 'd', 'e', 'f'];
  await Promise.all(
    texts.map((content, i) =>
      sendMessages(instances[i % 2] as ServiceDeps, {
        organizationId: s.acme.organizationId,
        agentId: s.acme.agentId,
        messages: [{ role: 'user', content }],
      }),
    ),
  );
  expect(slow.maxRunning).toBe(1);
  const conversation = await listMessages(s.deps, {
    organizationId: s.acme.organizationId,
    agentId: s.acme.agentId,
    order: 'asc',
  });
  expect(conversation).toHaveLength(12);
  for (let i = 0; i < conversation.length; i += 2) {
    expect(conversation[i + 1]?.content).toBe(`re: ${conversation[i]?.content}`);
  }
});

it('stops a turn that loses its lease, and stores no reply for it', async () => {
  const runtime = new ScriptedRuntime({ pieces: ['too ', 'late'], gated: true });
  const deps = {
    ...s.deps,
    agentRuntime: runtime,
    turns: new TurnQueue(s.database.db, { leaseMs: 60_000, renewMs: 20 }),
  };
  const sending = sendMessages(deps, {
    organizationId: s.acme.organizationId,
    agentId: s.acme.agentId,
    messages: [{ role: 'user', content: 'a long question' }],
  });
  while (runtime.started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // Another instance takes the agent over, as it may once this instance's lease ran out.
  await s.database.db
    .update(agents)
    .set({ turnHolder: 'instance-other', turnLeaseUntil: sql`now() + interval '1 minute'` })
    .where(eq(agents.id, s.acme.agentId));

  await expect(sending).rejects.toMatchObject({
    code: 'CONFLICT',
    message: expect.stringContaining('another instance took the agent over'),
  });
  runtime.release();
  const stored = await s.database.db.select().from(messages);
  expect(stored.map((m) => m.content)).toEqual(['a long question']);
  // The other instance's lease is left alone.
  const [agent] = await s.database.db.select().from(agents).where(eq(agents.id, s.acme.agentId));
  expect(agent?.turnHolder).toBe('instance-other');
});

it('finds a dead instance’s lease dead in seconds, not after the SDK’s 60 s timeout', async () => {
  // Instance A, on a pool of its own: it takes the agent for a turn and then dies, as a
  // killed process does for the database (its renewals stop; nothing releases the lease).
  const pool = await openDatabase({ url: s.database.url, dataDir: '' });
  const gated = new ScriptedRuntime({ pieces: ['never'], gated: true });
  const dying = sendMessages(
    { ...s.deps, db: pool.db, agentRuntime: gated, turns: new TurnQueue(pool.db) },
    {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'asked of the dead' }],
    },
  ).catch((error: unknown) => error);
  while (gated.started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await pool.close();
  const diedAt = performance.now();

  // Instance B, with the default lease timing, waits only until A's lease runs out.
  await sendMessages(
    { ...s.deps, turns: new TurnQueue(s.database.db) },
    {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'asked of the living' }],
    },
  );
  const waitedMs = performance.now() - diedAt;
  console.log(`a dead instance's lease was taken over ${Math.round(waitedMs)} ms after it died`);
  expect(waitedMs).toBeLessThan(20_000);
  gated.release();
  await dying;
  const stored = await s.database.db.select().from(messages).orderBy(messages.seq);
  expect(
    stored.map((m) => [m.messageType, m.messageType === 'user_message' ? m.content : 'reply']),
  ).toEqual([
    ['user_message', 'asked of the dead'],
    ['user_message', 'asked of the living'],
    ['assistant_message', 'reply'],
  ]);
});
