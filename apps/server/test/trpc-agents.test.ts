import { describe, expect, it } from 'vitest';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { trpcError } from './support/trpc-error.js';

const s = useSuite();

const createCaller = createCallerFactory(appRouter);
const callerFor = (credential: string, origin?: string) =>
  createCaller(createContextFromHeaders(s.deps, { authorization: `Bearer ${credential}`, origin }));

describe('agents router with an API key', () => {
  it('creates, lists, retrieves, updates and deletes an agent', async () => {
    const api = callerFor(s.acme.apiKey);
    const created = await api.agents.create({
      name: 'helper',
      system: 'Be brief.',
      tags: ['demo'],
      memory_blocks: [{ label: 'persona', value: 'A cat.', limit: 100 }],
      include_base_tools: true,
    });
    expect(created).toMatchObject({
      name: 'helper',
      system: 'Be brief.',
      tags: ['demo'],
      blocks: [{ label: 'persona', value: 'A cat.', limit: 100 }],
      llm_config: { model: 'builtin' },
    });

    const newestFirst = await api.agents.list();
    const ids = newestFirst.map((a) => a.id);
    expect(ids[0]).toBe(created.id);
    expect(new Set(ids)).toEqual(new Set([created.id, s.acme.otherAgentId, s.acme.agentId]));
    const page = await api.agents.list({ limit: 1, after: created.id });
    expect(page.map((a) => a.id)).toEqual([ids[1]]);
    expect((await api.agents.list({ tags: ['demo'] })).map((a) => a.id)).toEqual([created.id]);

    expect((await api.agents.retrieve({ agentId: created.id })).name).toBe('helper');
    const updated = await api.agents.update({
      agentId: created.id,
      name: 'renamed',
      description: 'a helper',
    });
    expect(updated).toMatchObject({
      name: 'renamed',
      description: 'a helper',
      system: 'Be brief.',
    });

    const block = await api.agents.updateBlock({
      agentId: created.id,
      label: 'persona',
      value: 'A patient cat.',
    });
    expect(block).toMatchObject({ label: 'persona', value: 'A patient cat.', limit: 100 });
    expect((await api.agents.retrieve({ agentId: created.id })).blocks[0]?.value).toBe(
      'A patient cat.',
    );

    expect(await api.agents.delete({ agentId: created.id })).toEqual({ deleted: created.id });
    expect((await trpcError(api.agents.retrieve({ agentId: created.id }))).code).toBe('NOT_FOUND');
    expect((await api.agents.list()).map((a) => a.id)).toEqual(ids.slice(1));
  });

  it('refuses bad input naming the field, changing nothing', async () => {
    const api = callerFor(s.acme.apiKey);
    const refused = await trpcError(
      api.agents.create({ name: 'x', tools: ['web_search'] } as Parameters<
        typeof api.agents.create
      >[0]),
    );
    expect(refused.code).toBe('BAD_REQUEST');
    expect(refused.message).toContain('tools');
    const tooLong = await trpcError(
      api.agents.updateBlock({ agentId: s.acme.agentId, label: 'human', limit: 1, value: 'ab' }),
    );
    expect(tooLong.message).toContain("the block's limit is 1");
    expect(await api.agents.list()).toHaveLength(2);
    expect(
      (await api.agents.retrieve({ agentId: s.acme.agentId })).blocks.map((b) => b.value),
    ).toEqual(['I am a friendly assistant.', '']);
  });
});

describe('messages router', () => {
  it('sends and lists with a client-side token', async () => {
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages', 'write_messages'] }],
    });
    const browser = callerFor(token, APP_ORIGIN);
    const sent = await browser.messages.send({
      agentId: s.acme.agentId,
      content: 'remember that I like tea',
      otid: 'local-1',
    });
    expect(sent.messages).toMatchObject([
      { message_type: 'tool_call_message', tool_call: { name: 'memory_insert' } },
      { message_type: 'tool_return_message', status: 'success' },
      { message_type: 'assistant_message', content: "Got it. I'll remember that you like tea." },
    ]);
    expect(sent.stop_reason.stop_reason).toBe('end_turn');

    const listed = await browser.messages.list({ agentId: s.acme.agentId });
    expect(listed.map((m) => [m.message_type, m.otid])).toEqual([
      ['assistant_message', null],
      ['tool_return_message', null],
      ['tool_call_message', null],
      ['user_message', 'local-1'],
    ]);
    const oldestFirst = await browser.messages.list({
      agentId: s.acme.agentId,
      order: 'asc',
      limit: 1,
    });
    expect(oldestFirst.map((m) => m.content)).toEqual(['remember that I like tea']);
    const users = await browser.messages.list({
      agentId: s.acme.agentId,
      include_return_message_types: ['user_message'],
    });
    expect(users).toHaveLength(1);

    const again = await trpcError(
      browser.messages.send({ agentId: s.acme.agentId, content: 'again', otid: 'local-1' }),
    );
    expect(again.code).toBe('CONFLICT');
    expect(await browser.messages.list({ agentId: s.acme.agentId })).toHaveLength(4);

    const forbidden = await trpcError(browser.messages.list({ agentId: s.acme.otherAgentId }));
    expect(forbidden.code).toBe('FORBIDDEN');
  });
});
