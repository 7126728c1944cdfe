import Letta, {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import { describe, expect, it } from 'vitest';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, seedOrganization } from './support/fixtures.js';
import { refusal, useLettaSdk } from './support/letta-sdk.js';
import { startTestServer } from './support/server.js';
import { useSuite } from './support/suite.js';

/**
 * The calls a chat app ported from Letta Cloud makes beyond sending messages, driven with
 * the official SDK as the app drives them: with the backend's sk-let- key, and with a
 * browser's ck-let- token where Letta Cloud lets one through.
 */
const s = useSuite({ server: true });
const { sdk, browserClient } = useLettaSdk(s);

/** Letta's `Tool` as the SDK types it: the fields a tool picker reads. */
const toolShape = (name: string) => ({
  id: expect.stringMatching(/^tool-[0-9a-f-]{36}$/),
  name,
  description: expect.any(String),
  tool_type: expect.stringMatching(/^letta_/),
  tags: [],
  return_char_limit: expect.any(Number),
  json_schema: {
    name,
    description: expect.any(String),
    parameters: { type: 'object', properties: expect.any(Object), required: expect.any(Array) },
  },
});

describe('tools', () => {
  it('lists the built-in tools with their schemas, the unavailable ones marked', async () => {
    const client = sdk(s.acme.apiKey);
    const tools = (await client.tools.list()).items;
    const insert = tools.find((t) => t.name === 'memory_insert');
    expect(insert).toMatchObject({
      ...toolShape('memory_insert'),
      metadata_: { available: true },
    });
    expect(insert?.json_schema?.parameters).toMatchObject({ required: ['label', 'new_str'] });
    const web = tools.find((t) => t.name === 'web_search');
    expect(web).toMatchObject({
      ...toolShape('web_search'),
      metadata_: { available: false, unavailable_reason: expect.stringContaining('internet') },
    });
    expect(tools.find((t) => t.name === 'run_code')?.metadata_).toMatchObject({
      available: false,
      unavailable_reason: expect.stringContaining('sandbox'),
    });
    // Filters and paging, as a picker asks for them.
    const builtin = await client.tools.list({ tool_types: ['letta_builtin'] });
    expect(builtin.items.map((t) => t.name).sort()).toEqual([
      'fetch_webpage',
      'run_code',
      'web_search',
    ]);
    const paged: string[] = [];
    for await (const tool of client.tools.list({ limit: 2 })) paged.push(tool.name ?? '');
    expect(paged).toEqual(tools.map((t) => t.name));
    expect(await client.tools.retrieve(insert?.id ?? '')).toEqual(insert);
    await expect(client.tools.retrieve('tool-nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('creates agents with tools by Letta name, base tools unless told not to', async () => {
    const client = sdk(s.acme.apiKey);
    const plain = await client.agents.create({ name: 'plain' });
    expect(plain.tools.map((t) => t.name)).toEqual([
      'memory_insert',
      'memory_replace',
      'memory_rethink',
      'conversation_search',
    ]);
    expect(plain.tools[0]).toMatchObject(toolShape('memory_insert'));
    const chosen = await client.agents.create({
      include_base_tools: false,
      tools: ['core_memory_append', 'conversation_search'],
    });
    expect(chosen.tools.map((t) => t.name)).toEqual(['core_memory_append', 'conversation_search']);
    const before = (await client.agents.list()).items.length;
    for (const [tools, message] of [
      [['web_search'], 'tools[0]: "web_search" needs internet access'],
      [['memory_insert', 'run_code'], 'tools[1]: "run_code" needs a code sandbox'],
      [['memory_insret'], 'tools[0]: unknown tool "memory_insret"'],
    ] as const) {
      const error = await refusal(client.agents.create({ tools: [...tools] }));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error?.message).toContain(message);
    }
    expect((await client.agents.list()).items).toHaveLength(before);
  });

  it('attaches, detaches and lists an agent’s tools; a client token only reads them', async () => {
    const client = sdk(s.acme.apiKey);
    const agentId = s.acme.agentId;
    const tools = (await client.tools.list()).items;
    const id = (name: string) => tools.find((t) => t.name === name)?.id ?? '';
    const attached = await client.agents.tools.attach(id('core_memory_append'), {
      agent_id: agentId,
    });
    expect(attached?.tools.map((t) => t.name)).toContain('core_memory_append');
    // Attaching twice keeps one.
    await client.agents.tools.attach(id('core_memory_append'), { agent_id: agentId });
    const listed = (await client.agents.tools.list(agentId)).items;
    expect(listed.filter((t) => t.name === 'core_memory_append')).toHaveLength(1);
    expect(listed.at(-1)).toMatchObject(toolShape('core_memory_append'));
    const detached = await client.agents.tools.detach(id('memory_rethink'), { agent_id: agentId });
    expect(detached?.tools.map((t) => t.name)).toEqual([
      'memory_insert',
      'memory_replace',
      'conversation_search',
      'core_memory_append',
    ]);
    const web = await refusal(client.agents.tools.attach(id('web_search'), { agent_id: agentId }));
    expect(web).toBeInstanceOf(BadRequestError);
    expect(web?.message).toContain('"web_search" needs internet access');
    await expect(
      client.agents.tools.attach('tool-00000000-0000-0000-0000-000000000000', {
        agent_id: agentId,
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // tool_ids on update is the whole new set.
    const updated = await client.agents.update(agentId, { tool_ids: [id('memory_replace')] });
    expect(updated.tools.map((t) => t.name)).toEqual(['memory_replace']);

    const reader = await browserClient(['read_agent']);
    expect((await reader.agents.tools.list(agentId)).items.map((t) => t.name)).toEqual([
      'memory_replace',
    ]);
    const attach = await refusal(
      reader.agents.tools.attach(id('memory_insert'), { agent_id: agentId }),
    );
    expect(attach).toBeInstanceOf(PermissionDeniedError);
    expect(attach?.message).toContain('server-side API key');
    expect(await refusal(reader.tools.list())).toBeInstanceOf(PermissionDeniedError);
    const messagesOnly = await browserClient(['read_messages']);
    const denied = await refusal(messagesOnly.agents.tools.list(agentId));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied?.message).toContain(`read_agent on agent ${agentId}`);
  });
});

/** Letta's `Identity`, as `AgentState.identities` types it. */
const identityShape = (fields: Record<string, unknown>) => ({
  id: expect.stringMatching(/^identity-/),
  identifier_key: expect.any(String),
  name: expect.any(String),
  identity_type: expect.stringMatching(/^(org|user|other)$/),
  agent_ids: expect.any(Array),
  block_ids: [],
  project_id: null,
  properties: expect.any(Array),
  ...fields,
});

describe('identities, as in Letta’s multi-user guide', () => {
  it('maps each user of the app to their agents', async () => {
    const client = sdk(s.acme.apiKey);
    const ada = await client.post<Letta.AgentState.Identity>('/v1/identities', {
      body: {
        identifier_key: 'user-ada',
        name: 'Ada',
        identity_type: 'user',
        properties: [{ key: 'plan', type: 'string', value: 'pro' }],
      },
    });
    expect(ada).toEqual(
      identityShape({
        identifier_key: 'user-ada',
        name: 'Ada',
        identity_type: 'user',
        agent_ids: [],
        properties: [{ key: 'plan', type: 'string', value: 'pro' }],
      }),
    );
    // The guide's way: each user's agent is created with their identity.
    const agent = await client.agents.create({ name: 'ada agent', identity_ids: [ada.id] });
    expect(agent.identity_ids).toEqual([ada.id]);
    expect(agent.identities).toEqual([identityShape({ id: ada.id, agent_ids: [agent.id] })]);
    const found = await client.agents.list({ identity_id: ada.id });
    expect(found.items.map((a) => a.id)).toEqual([agent.id]);
    const byKey = await client.agents.list({ identifier_keys: ['user-ada', 'user-nobody'] });
    expect(byKey.items.map((a) => a.id)).toEqual([agent.id]);
    expect((await client.agents.list({ identifier_keys: ['user-nobody'] })).items).toEqual([]);

    // Upsert by the app's own key: the second call changes the same identity.
    const bob = await client.put<Letta.AgentState.Identity>('/v1/identities', {
      body: { identifier_key: 'user-bob', name: 'Bob', identity_type: 'user' },
    });
    const bobAgain = await client.put<Letta.AgentState.Identity>('/v1/identities', {
      body: {
        identifier_key: 'user-bob',
        name: 'Robert',
        identity_type: 'user',
        agent_ids: [s.acme.agentId],
      },
    });
    expect(bobAgain).toEqual(
      identityShape({ id: bob.id, name: 'Robert', agent_ids: [s.acme.agentId] }),
    );
    const listed = await client.get<Letta.AgentState.Identity[]>('/v1/identities', {
      query: { identity_type: 'user' },
    });
    expect(listed.map((i) => i.identifier_key)).toEqual(['user-bob', 'user-ada']);
    const page = await client.get<Letta.AgentState.Identity[]>('/v1/identities', {
      query: { limit: 1, after: bob.id },
    });
    expect(page.map((i) => i.id)).toEqual([ada.id]);
    expect(await client.get(`/v1/identities/${ada.id}`)).toEqual(
      identityShape({ id: ada.id, agent_ids: [agent.id] }),
    );

    // Update: agent_ids is the whole new set; an agent's identity_ids likewise.
    // Letta's properties upsert replaces the whole list, typed values kept as given.
    const typed = [
      { key: 'plan', type: 'string', value: 'pro' },
      { key: 'seats', type: 'number', value: 3 },
      { key: 'trial', type: 'boolean', value: false },
      { key: 'prefs', type: 'json', value: { theme: 'dark' } },
    ];
    const withProperties = await client.put<Letta.AgentState.Identity>(
      `/v1/identities/${ada.id}/properties`,
      { body: typed },
    );
    expect(withProperties.properties).toEqual(typed);
    expect(
      (await client.get<Letta.AgentState.Identity>(`/v1/identities/${ada.id}`)).properties,
    ).toEqual(typed);
    await client.put(`/v1/identities/${ada.id}/properties`, { body: [] });
    const moved = await client.patch<Letta.AgentState.Identity>(`/v1/identities/${ada.id}`, {
      body: { name: 'Ada L.', agent_ids: [s.acme.otherAgentId] },
    });
    expect(moved).toMatchObject({ name: 'Ada L.', agent_ids: [s.acme.otherAgentId] });
    const updated = await client.agents.update(agent.id, { identity_ids: [bob.id, ada.id] });
    expect([...(updated.identity_ids ?? [])].sort()).toEqual([ada.id, bob.id].sort());
    expect((await client.agents.update(agent.id, { identity_ids: [] })).identities).toEqual([]);
    // One at a time, as `client.agents.identities` does it.
    await client.agents.identities.attach(bob.id, { agent_id: agent.id });
    expect((await client.agents.retrieve(agent.id)).identity_ids).toEqual([bob.id]);
    await client.agents.identities.detach(bob.id, { agent_id: agent.id });
    expect((await client.agents.retrieve(agent.id)).identity_ids).toEqual([]);

    await client.delete(`/v1/identities/${bob.id}`);
    await expect(client.get(`/v1/identities/${bob.id}`)).rejects.toBeInstanceOf(NotFoundError);
    // The agents stay.
    expect((await client.agents.retrieve(s.acme.agentId)).identity_ids).toEqual([]);
  });

  it('refuses a taken key, unknown agents and identities, and every client-side token', async () => {
    const client = sdk(s.acme.apiKey);
    const body = { identifier_key: 'user-ada', name: 'Ada', identity_type: 'user' };
    const ada = await client.post<Letta.AgentState.Identity>('/v1/identities', { body });
    const taken = await refusal(client.post('/v1/identities', { body }));
    expect(taken).toBeInstanceOf(ConflictError);
    expect(taken?.message).toContain('identifier_key: an identity with identifier_key "user-ada"');
    const ghost = await refusal(
      client.post('/v1/identities', {
        body: { ...body, identifier_key: 'x', agent_ids: ['agent-nope'] },
      }),
    );
    expect(ghost).toBeInstanceOf(NotFoundError);
    expect(ghost?.message).toContain('agent_ids: agent agent-nope not found');
    const badIdentity = await refusal(client.agents.create({ identity_ids: ['identity-nope'] }));
    expect(badIdentity?.message).toContain('identity_ids: identity identity-nope not found');
    const badProperty = await refusal(
      client.post('/v1/identities', {
        body: {
          ...body,
          identifier_key: 'y',
          properties: [{ key: 'n', type: 'number', value: 'x' }],
        },
      }),
    );
    expect(badProperty).toBeInstanceOf(BadRequestError);
    expect(badProperty?.message).toContain('properties[0].value: is string, not number');
    const badPut = await refusal(
      client.put(`/v1/identities/${ada.id}/properties`, {
        body: [{ key: 'k', type: 'boolean', value: 1 }],
      }),
    );
    expect(badPut).toBeInstanceOf(BadRequestError);
    expect(badPut?.message).toContain('[0].value: is number, not boolean');
    // Nothing of the refused calls was kept.
    expect(await client.get('/v1/identities')).toEqual([identityShape({ id: ada.id })]);
    expect((await client.agents.list()).items).toHaveLength(2);

    const browser = await browserClient(['read_agent', 'write_agent']);
    for (const call of [
      () => browser.get('/v1/identities'),
      () => browser.get(`/v1/identities/${ada.id}`),
      () => browser.post('/v1/identities', { body: { ...body, identifier_key: 'z' } }),
      () => browser.agents.identities.attach(ada.id, { agent_id: s.acme.agentId }),
    ]) {
      const refused = await refusal(call());
      expect(refused).toBeInstanceOf(PermissionDeniedError);
      expect(refused?.message).toContain('server-side API key');
    }
    const refusedIds = await refusal(
      browser.agents.update(s.acme.agentId, { identity_ids: [ada.id] }),
    );
    expect(refusedIds).toBeInstanceOf(PermissionDeniedError);
    expect(refusedIds?.message).toContain('identity_ids');
  });
});

describe('clients without a browser', () => {
  it('are refused by default, and let in when SCOPEKIT_CLIENT_TOKEN_ORIGIN=optional', async () => {
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });
    const refused = await refusal(sdk(token).agents.retrieve(s.acme.agentId));
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused?.message).toContain('SCOPEKIT_CLIENT_TOKEN_ORIGIN=optional');

    const lenient = await startTestServer({ ...s.deps, clientTokenOrigin: 'optional' });
    try {
      const at = (origin?: string) =>
        new Letta({
          apiKey: token,
          baseURL: lenient.baseUrl,
          maxRetries: 0,
          defaultHeaders: origin ? { Origin: origin } : undefined,
        });
      const agent = await at().agents.retrieve(s.acme.agentId);
      expect(agent).toMatchObject({ id: s.acme.agentId, tools: expect.any(Array) });
      expect((await at(APP_ORIGIN).agents.retrieve(s.acme.agentId)).id).toBe(s.acme.agentId);
      // A browser on another site still names it, and is still refused.
      const elsewhere = await refusal(
        at('https://evil.example.com').agents.retrieve(s.acme.agentId),
      );
      expect(elsewhere).toBeInstanceOf(PermissionDeniedError);
      expect(elsewhere?.message).toContain('not to this origin');
      // The policy still holds: no Origin is no more access.
      const denied = await refusal(at().agents.update(s.acme.agentId, { name: 'x' }));
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect(denied?.message).toContain(`does not grant write_agent on agent ${s.acme.agentId}`);
    } finally {
      await lenient.close();
    }
  });
});

describe('tags', () => {
  it('lists the organization’s agent tags alphabetically, filtered and paged', async () => {
    const client = sdk(s.acme.apiKey);
    await client.agents.create({ tags: ['tea', 'demo'] });
    await client.agents.create({ tags: ['coffee', 'demo', 'Tea_time'] });
    const all: string[] = await client.tags.list();
    expect(all).toEqual(['Tea_time', 'coffee', 'demo', 'tea']);
    expect(await client.tags.list({ name: 'TEA' })).toEqual(['Tea_time', 'tea']);
    expect(await client.tags.list({ query_text: '_' })).toEqual(['Tea_time']);
    expect(await client.tags.list({ after: 'coffee', limit: 1 })).toEqual(['demo']);
    expect(await client.tags.list({ order: 'desc', before: 'coffee' })).toEqual(['tea', 'demo']);
    expect(await client.tags.list({ before: 'demo', limit: 1 })).toEqual(['coffee']);
    const browser = await browserClient(['read_agent']);
    expect(await refusal(browser.tags.list())).toBeInstanceOf(PermissionDeniedError);
  });
});

describe('messages across the organization', () => {
  it('lists every agent’s messages, newest first, paged, for a server-side key only', async () => {
    const client = sdk(s.acme.apiKey);
    await client.agents.messages.create(s.acme.agentId, { input: 'hello one' });
    await client.agents.messages.create(s.acme.otherAgentId, { input: 'hello two' });
    const all = await client.messages.list();
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({
      id: expect.stringMatching(/^message-/),
      date: expect.any(String),
      message_type: 'assistant_message',
      run_id: expect.stringMatching(/^run-/),
      seq_id: expect.any(Number),
    });
    expect(all.map((m) => m.message_type)).toEqual([
      'assistant_message',
      'user_message',
      'assistant_message',
      'user_message',
    ]);
    expect((all[1] as { content: string }).content).toBe('hello two');
    const users = await client.messages.list({
      include_return_message_types: ['user_message'],
      order: 'asc',
    });
    expect(users.map((m) => (m as { content: string }).content)).toEqual([
      'hello one',
      'hello two',
    ]);
    expect(await client.messages.list({ after: all[1]?.id ?? '', limit: 1 })).toEqual([all[2]]);
    // Another organization's messages are not there, nor are its cursors.
    const globex = await seedOrganization(s.deps, 'globex');
    expect(await sdk(globex.apiKey).messages.list()).toEqual([]);
    const foreign = await refusal(sdk(globex.apiKey).messages.list({ after: all[0]?.id ?? '' }));
    expect(foreign).toBeInstanceOf(NotFoundError);
    const browser = await browserClient(['read_messages']);
    expect(await refusal(browser.messages.list())).toBeInstanceOf(PermissionDeniedError);
  });
});
