import Letta, { ConflictError } from '@letta-ai/letta-client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { messages, runs } from '../src/db/schema.js';
import { buildApp } from '../src/http/app.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';

// A turn that outlasts the SDK's timeout: the SDK gives up on the send, whose message is
// stored and whose turn runs on, and sends the same body again (X-Stainless-Retry-Count: 1),
// without an otid to tell it from a new send. Queued behind the first turn, the retry ran
// once that ended, and stored the message a second time, with a second reply.
const s = useSuite();
const runtime = new ScriptedRuntime({ pieces: ['done'], gated: true });
let baseUrl: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const app = await buildApp({ deps: { ...s.deps, agentRuntime: runtime }, logLevel: 'silent' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
afterAll(async () => {
  runtime.release();
  await close();
});

const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

it("refuses the SDK's retry of a send that timed out after its message was stored", async () => {
  const client = new Letta({ apiKey: s.acme.apiKey, baseURL: baseUrl, maxRetries: 1 });
  let settled = false;
  const answer = client.agents.messages
    .create(s.acme.agentId, { input: 'a long one' }, { timeout: 3_000 })
    .catch((error: unknown) => error)
    .finally(() => {
      settled = true;
    });
  while (runtime.started === 0) await pause();
  // The SDK times out and retries: refused at once, or accepted and queued behind the turn.
  const runsOfAgent = () =>
    s.database.db.select().from(runs).where(eq(runs.agentId, s.acme.agentId));
  while (!settled && (await runsOfAgent()).length < 2) await pause();
  runtime.release();

  const refused = await answer;
  expect(refused).toBeInstanceOf(ConflictError);
  expect((refused as ConflictError).message).toMatch(/repeats a send already stored as message-/);
  while ((await runsOfAgent()).some((run) => run.completedAt === null)) await pause();
  const stored = await s.database.db.select().from(messages).orderBy(messages.seq);
  expect(stored.map((m) => m.content)).toEqual(['a long one', 'done']);
});

it('still stores a new send of the same words, and a retry whose first attempt stored nothing', async () => {
  runtime.release();
  const client = new Letta({ apiKey: s.acme.apiKey, baseURL: baseUrl, maxRetries: 0 });
  await client.agents.messages.create(s.acme.agentId, { input: 'yes' });
  await client.agents.messages.create(s.acme.agentId, { input: 'yes' });
  // An SDK retry of "no": nothing like it was stored, so it is a send like any other.
  await client.agents.messages.create(
    s.acme.agentId,
    { input: 'no' },
    { headers: { 'X-Stainless-Retry-Count': '1' } },
  );
  const stored = await s.database.db.select().from(messages).orderBy(messages.seq);
  expect(stored.map((m) => m.content)).toEqual(['yes', 'done', 'yes', 'done', 'no', 'done']);
});
