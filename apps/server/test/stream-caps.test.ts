import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSession, mintSessionToken, resolveSession } from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import type { ServiceDeps } from '../src/deps.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
} from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Live event streams are capped per client token, per web user, per client address and per
 * instance; past a cap the stream is refused (429, or 503 for the instance) with a message
 * naming the setting and a wait, and a stream that closes gives its place back.
 */
let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
let acme: SeededOrganization;
const open: AbortController[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, undefined, {
    streamsPerToken: 2,
    streamsPerUser: 3,
    streamsPerAddress: 5,
    streamsPerInstance: 7,
  });
  server = await startTestServer(deps);
  acme = await seedOrganization(deps, 'acme');
}, 300_000);
afterAll(async () => {
  await server.close();
  await database.close();
});
afterEach(async () => {
  for (const controller of open.splice(0)) controller.abort();
  await expect.poll(() => deps.liveStreams.open).toBe(0);
});

const keyToken = async () =>
  (
    await mintClientToken(deps, {
      organizationId: acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: acme.agentId, access: ['read_messages'] }],
    })
  ).token;

interface Refusal {
  message: string;
  data: { httpStatus: number; retryAfterSeconds?: number };
}

/** Opens `messages.events`: the stream (kept open) or the refusal its first event carries. */
async function subscribe(bearer: string, agentId = acme.agentId): Promise<Refusal | 'open'> {
  const controller = new AbortController();
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  const response = await fetch(`${server.baseUrl}/trpc/messages.events?input=${input}`, {
    headers: { authorization: `Bearer ${bearer}`, origin: APP_ORIGIN },
    signal: controller.signal,
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) throw new Error(`stream ended: ${text}`);
    text += decoder.decode(chunk.value, { stream: true });
    const error = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
    if (error) {
      controller.abort();
      return JSON.parse(error) as Refusal;
    }
    // tRPC's `connected` event: the procedure has returned its stream, so it is counted.
    if (text.includes('event: connected')) {
      open.push(controller);
      return 'open';
    }
  }
}

function expectRefused(result: Refusal | 'open', status: number, setting: string) {
  expect(result).not.toBe('open');
  const refusal = result as Refusal;
  expect(refusal.data.httpStatus).toBe(status);
  expect(refusal.message).toContain(setting);
  expect(refusal.data.retryAfterSeconds).toBeGreaterThan(0);
}

describe('live stream caps', () => {
  it('refuse a token past its streams with 429, and give a closed stream its place back', async () => {
    const token = await keyToken();
    expect(await subscribe(token)).toBe('open');
    expect(await subscribe(token)).toBe('open');
    expectRefused(await subscribe(token), 429, 'SCOPEKIT_STREAMS_PER_TOKEN');
    // Another token is under its own count.
    expect(await subscribe(await keyToken())).toBe('open');

    open.shift()?.abort();
    await expect.poll(() => deps.liveStreams.open).toBe(2);
    expect(await subscribe(token)).toBe('open');
  });

  it('refuse a web user past their streams across the tokens their sessions mint', async () => {
    const user = await signUp(deps, { username: 'streamer', password: 'a long password' });
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { sessionId } = await createSession(deps, { userId: user.id });
      const session = await resolveSession(deps, { sessionId });
      if (!session) throw new Error('no session');
      tokens.push((await mintSessionToken(deps, { session, origin: APP_ORIGIN })).token);
    }
    for (const token of tokens.slice(0, 3))
      expect(await subscribe(token, user.agentId)).toBe('open');
    expectRefused(await subscribe(tokens[3] ?? '', user.agentId), 429, 'SCOPEKIT_STREAMS_PER_USER');
  });

  it('refuse an address past its streams, whatever tokens it brings', async () => {
    for (let i = 0; i < 5; i++) expect(await subscribe(await keyToken())).toBe('open');
    expectRefused(await subscribe(await keyToken()), 429, 'SCOPEKIT_STREAMS_PER_ADDRESS');
  });

  it('refuse any stream past the instance cap with 503', async () => {
    // API keys (a backend's secret) are held to the instance's cap only.
    for (let i = 0; i < 7; i++) expect(await subscribe(acme.apiKey)).toBe('open');
    expectRefused(await subscribe(acme.apiKey), 503, 'SCOPEKIT_STREAMS_PER_INSTANCE');
  });
});
