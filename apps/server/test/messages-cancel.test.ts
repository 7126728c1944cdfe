import Letta, { BadRequestError, PermissionDeniedError } from '@letta-ai/letta-client';
import type { AccessOf } from '@scopekit/policy';
import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messages } from '../src/db/schema.js';
import { buildApp } from '../src/http/app.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';
import { browserTrpcClient } from './support/trpc-client.js';

// `messages.cancel` over REST (as the official SDK calls it) and tRPC (as the web app does):
// a turn that has begun its reply and then waits on its model is stopped, and what it said
// so far is kept.
const s = useSuite();
let runtime: ScriptedRuntime;
let baseUrl: string;
let close: () => Promise<void>;

beforeEach(async () => {
  runtime = new ScriptedRuntime({ opening: ['so far '], pieces: ['and the rest'], gated: true });
  const app = await buildApp({ deps: { ...s.deps, agentRuntime: runtime }, logLevel: 'silent' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
afterEach(async () => {
  runtime.release();
  await close();
});

const sdk = (apiKey: string) =>
  new Letta({
    apiKey,
    baseURL: baseUrl,
    maxRetries: 0,
    defaultHeaders: { Origin: APP_ORIGIN },
  });

async function tokenWith(access: AccessOf<'agent'>[], agentId = s.acme.agentId) {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: agentId, access }],
  });
  return token;
}

/** A send whose reply has begun and now waits on the model, and its eventual answer. */
async function turnUnderWay(client: Letta) {
  const answer = client.agents.messages.create(s.acme.agentId, { input: 'talk for a while' });
  await expect.poll(() => runtime.waiting).toBe(1);
  // Wrapped, or awaiting this function would wait for the answer itself.
  return { answer };
}

const stored = async () =>
  (
    await s.database.db
      .select({ type: messages.messageType, content: messages.content })
      .from(messages)
      .orderBy(asc(messages.seq))
  ).map((m) => [m.type, m.content]);

describe('REST messages.cancel through the official SDK', () => {
  it('stops the running turn for a browser token with write_messages, keeping the reply so far', async () => {
    const client = sdk(await tokenWith(['write_messages']));
    const { answer } = await turnUnderWay(client);
    const cancelled = await client.agents.messages.cancel(s.acme.agentId);
    const response = await answer;
    const runId = response.messages[0]?.run_id ?? '';
    expect(runId).toMatch(/^run-/);
    expect(cancelled).toEqual({ [runId]: 'cancelled' });
    expect(response.stop_reason).toMatchObject({ stop_reason: 'cancelled' });
    expect(response.messages).toMatchObject([
      { message_type: 'assistant_message', content: 'so far ' },
    ]);
    expect(await stored()).toEqual([
      ['user_message', 'talk for a while'],
      ['assistant_message', 'so far '],
    ]);
    // Nothing is left to cancel.
    expect(await client.agents.messages.cancel(s.acme.agentId)).toEqual({});
  });

  it('cancels only a run named in run_ids', async () => {
    const client = sdk(s.acme.apiKey);
    const { answer } = await turnUnderWay(client);
    expect(
      await client.agents.messages.cancel(s.acme.agentId, { run_ids: ['run-someone-else'] }),
    ).toEqual({});
    expect(runtime.waiting).toBe(1);
    runtime.release();
    const response = await answer;
    expect(response.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    const runId = response.messages[0]?.run_id ?? '';
    // Named once it has ended, there is nothing to stop.
    expect(await client.agents.messages.cancel(s.acme.agentId, { run_ids: [runId] })).toEqual({});
  });

  it('refuses a token without write_messages on that agent, and bad input, stopping nothing', async () => {
    const { answer } = await turnUnderWay(sdk(s.acme.apiKey));
    const readOnly = sdk(await tokenWith(['read_messages', 'read_agent']));
    await expect(readOnly.agents.messages.cancel(s.acme.agentId)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    const elsewhere = sdk(await tokenWith(['write_messages'], s.acme.otherAgentId));
    await expect(elsewhere.agents.messages.cancel(s.acme.agentId)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    const writer = sdk(await tokenWith(['write_messages']));
    const bad = writer.agents.messages.cancel(s.acme.agentId, {
      run_ids: 'run-1' as unknown as string[],
    });
    await expect(bad).rejects.toBeInstanceOf(BadRequestError);
    await expect(bad).rejects.toThrow(/run_ids/);
    expect(runtime.waiting).toBe(1);
    runtime.release();
    expect((await answer).stop_reason).toMatchObject({ stop_reason: 'end_turn' });
  });
});

describe('tRPC messages.cancel', () => {
  it('stops the running turn for the web token, and is refused without write_messages', async () => {
    const web = browserTrpcClient(
      baseUrl,
      await tokenWith(['read_messages', 'write_messages', 'read_agent']),
    );
    const answer = web.messages.send.mutate({ agentId: s.acme.agentId, content: 'go on' });
    await expect.poll(() => runtime.waiting).toBe(1);

    const reader = browserTrpcClient(baseUrl, await tokenWith(['read_messages']));
    await expect(reader.messages.cancel.mutate({ agentId: s.acme.agentId })).rejects.toMatchObject({
      data: { httpStatus: 403 },
      message: `This token does not grant write_messages on agent ${s.acme.agentId}`,
    });
    await expect(
      web.messages.cancel.mutate({ agentId: s.acme.agentId, runIds: [''] }),
    ).rejects.toMatchObject({ data: { httpStatus: 400 }, message: /runIds\[0\]/ });
    expect(runtime.waiting).toBe(1);

    const cancelled = await web.messages.cancel.mutate({ agentId: s.acme.agentId });
    const response = await answer;
    expect(cancelled).toEqual({ [response.messages[0]?.run_id ?? '']: 'cancelled' });
    expect(response.stop_reason.stop_reason).toBe('cancelled');
    expect(response.messages).toMatchObject([
      { message_type: 'assistant_message', content: 'so far ' },
    ]);
  });
});
