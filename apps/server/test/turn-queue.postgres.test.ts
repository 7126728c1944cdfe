import { expect, it } from 'vitest';
import type { ServiceDeps } from '../src/services/deps.js';
import { listMessages, sendMessages } from '../src/services/messages.js';
import { TurnQueue } from '../src/services/turn-queue.js';
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
