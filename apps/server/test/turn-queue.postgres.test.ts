import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/services/deps.js';
import { listMessages, sendMessages } from '../src/services/messages.js';
import { TurnQueue } from '../src/services/turn-queue.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { SlowRuntime } from './support/slow-runtime.js';

let database: TestDatabase;
let deps: ServiceDeps;
let acme: SeededOrganization;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.reset();
  acme = await seedOrganization(deps, 'acme');
});

it('queues one agent’s turns across instances through a lease on the agent’s row', async () => {
  const slow = new SlowRuntime();
  // Two instances: each its own in-process queue, so only the database lock can serialize them.
  const instances = [0, 1].map(() => ({
    ...deps,
    agentRuntime: slow,
    turns: new TurnQueue(database.db),
  }));
  const texts = ['a', 'b', 'c', 'd', 'e', 'f'];
  await Promise.all(
    texts.map((content, i) =>
      sendMessages(instances[i % 2] as ServiceDeps, {
        organizationId: acme.organizationId,
        agentId: acme.agentId,
        messages: [{ role: 'user', content }],
      }),
    ),
  );
  expect(slow.maxRunning).toBe(1);
  const conversation = await listMessages(deps, {
    organizationId: acme.organizationId,
    agentId: acme.agentId,
    order: 'asc',
  });
  expect(conversation).toHaveLength(12);
  for (let i = 0; i < conversation.length; i += 2) {
    expect(conversation[i + 1]?.content).toBe(`re: ${conversation[i]?.content}`);
  }
});
