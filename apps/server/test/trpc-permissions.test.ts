import type { AccessOf } from '@scopekit/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { getAgent } from '../src/agents/agent-read.js';
import { messages } from '../src/db/schema.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { APP_ORIGIN, seedOrganization } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { trpcError } from './support/trpc-error.js';

const s = useSuite();

const createCaller = createCallerFactory(appRouter);
/** Streams opened by a test are closed after it. */
let streams = new AbortController();
afterEach(() => {
  streams.abort();
  streams = new AbortController();
});
const callerFor = (credential: string, origin?: string) =>
  createCaller(
    createContextFromHeaders(s.deps, { authorization: `Bearer ${credential}`, origin }),
    { signal: streams.signal },
  );
type Caller = ReturnType<typeof callerFor>;

async function tokenFor(access: AccessOf<'agent'>[], agentId = s.acme.agentId) {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: agentId, access }],
  });
  return callerFor(token, APP_ORIGIN);
}

/** Every procedure on one agent, with the access it needs. */
const onAgent: Record<
  string,
  { access: AccessOf<'agent'>; call: (c: Caller, agentId: string) => unknown }
> = {
  'agents.retrieve': { access: 'read_agent', call: (c, agentId) => c.agents.retrieve({ agentId }) },
  'agents.update': {
    access: 'write_agent',
    call: (c, agentId) => c.agents.update({ agentId, description: 'changed' }),
  },
  'agents.updateBlock': {
    access: 'write_agent',
    call: (c, agentId) => c.agents.updateBlock({ agentId, label: 'human', value: 'Ada' }),
  },
  'messages.list': { access: 'read_messages', call: (c, agentId) => c.messages.list({ agentId }) },
  'messages.send': {
    access: 'write_messages',
    call: (c, agentId) => c.messages.send({ agentId, content: 'hi' }),
  },
  'messages.events': {
    access: 'read_messages',
    call: (c, agentId) => c.messages.events({ agentId }),
  },
};
const procedures = Object.entries(onAgent);
const kinds: AccessOf<'agent'>[] = ['read_agent', 'write_agent', 'read_messages', 'write_messages'];

const storedMessages = () => s.database.db.select().from(messages);
const agentNow = (agentId = s.acme.agentId) =>
  getAgent(s.deps, { organizationId: s.acme.organizationId, agentId });

describe.each(kinds)('a client-side token with only %s', (granted) => {
  it.each(procedures)('%s', async (_, { access, call }) => {
    const caller = await tokenFor([granted]);
    const before = { agent: await agentNow(), messages: await storedMessages() };
    if (access === granted) {
      await expect(call(caller, s.acme.agentId)).resolves.toBeDefined();
      return;
    }
    const refused = await trpcError(Promise.resolve(call(caller, s.acme.agentId)));
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toBe(`This token does not grant ${access} on agent ${s.acme.agentId}`);
    expect({ agent: await agentNow(), messages: await storedMessages() }).toEqual(before);
  });
});

describe('a client-side token with every access to one agent', () => {
  it.each(procedures)('is refused %s on another agent of its organization', async (_, { call }) => {
    const caller = await tokenFor(kinds);
    const refused = await trpcError(Promise.resolve(call(caller, s.acme.otherAgentId)));
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toContain(`on agent ${s.acme.otherAgentId}`);
    expect(await storedMessages()).toEqual([]);
  });

  it('may not create, list or delete agents', async () => {
    const caller = await tokenFor(kinds);
    const calls = [
      () => caller.agents.create({ name: 'mine' }),
      () => caller.agents.list(),
      () => caller.agents.delete({ agentId: s.acme.agentId }),
    ];
    for (const call of calls) {
      const refused = await trpcError(call());
      expect(refused.code).toBe('FORBIDDEN');
      expect(refused.message).toMatch(/needs a server-side API key/);
    }
    await expect(agentNow()).resolves.toBeDefined();
    const api = callerFor(s.acme.apiKey);
    expect(await api.agents.list()).toHaveLength(2);
  });

  it.each([
    ['model', 'gpt-4o'],
    ['metadata', { plan: 'pro' }],
  ] as const)('may not change the agent’s %s; an API key may', async (field, value) => {
    const caller = await tokenFor(kinds);
    const refused = await trpcError(
      caller.agents.update({ agentId: s.acme.agentId, name: 'renamed', [field]: value }),
    );
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toBe(
      `${field}: only a server-side API key (sk-let-…) may change an agent's ${field}; a client-side token may not`,
    );
    expect(await agentNow()).toMatchObject({ name: 'acme agent', [field]: null });
    const updated = await callerFor(s.acme.apiKey).agents.update({
      agentId: s.acme.agentId,
      [field]: value,
    });
    expect(updated[field]).toEqual(value);
  });
});

describe('an API key of another organization', () => {
  const everything = [
    ...procedures,
    [
      'agents.delete',
      { access: 'write_agent', call: (c: Caller, agentId: string) => c.agents.delete({ agentId }) },
    ] as const,
  ];

  it.each(everything)('finds no agent of this one on %s', async (_, { call }) => {
    const globex = await seedOrganization(s.deps, 'globex');
    const refused = await trpcError(
      Promise.resolve(call(callerFor(globex.apiKey), s.acme.agentId)),
    );
    expect(refused.code).toBe('NOT_FOUND');
    expect(refused.message).toBe(`Agent ${s.acme.agentId} not found`);
    expect(await agentNow()).toMatchObject({ name: 'acme agent', description: null });
    expect(await storedMessages()).toEqual([]);
  });

  it('lists only its own agents', async () => {
    const globex = await seedOrganization(s.deps, 'globex');
    const listed = await callerFor(globex.apiKey).agents.list();
    expect(listed.map((a) => a.id).sort()).toEqual([globex.agentId, globex.otherAgentId].sort());
  });
});
