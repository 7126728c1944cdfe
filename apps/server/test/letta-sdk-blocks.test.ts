import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import type { BlockResponse } from '@letta-ai/letta-client/resources/blocks/blocks';
import { describe, expect, it } from 'vitest';
import { agentBlocks } from '../src/db/schema.js';
import { seedOrganization } from './support/fixtures.js';
import { refusal, useLettaSdk } from './support/letta-sdk.js';
import { useSuite } from './support/suite.js';

/**
 * Letta's shared memory: a block of its own (`blocks.*`) attached to several agents
 * (`agents.blocks.attach/detach`), each seeing what any of them writes.
 */
const s = useSuite({ server: true });
const { sdk, browserClient } = useLettaSdk(s);

/** A block as the SDK types it. */
const blockShape = (fields: Partial<BlockResponse>): BlockResponse => ({
  id: expect.stringMatching(/^block-[0-9a-f-]{36}$/),
  label: expect.any(String),
  value: expect.any(String),
  limit: 10_000,
  description: null,
  read_only: false,
  metadata: {},
  ...fields,
});

describe('blocks of their own', () => {
  it('are created, listed, read, updated and deleted', async () => {
    const client = sdk(s.acme.apiKey);
    const created = await client.blocks.create({
      label: 'team',
      value: 'We ship on Fridays.',
      description: 'what the team agreed',
      limit: 500,
    });
    expect(created).toEqual(
      blockShape({
        label: 'team',
        value: 'We ship on Fridays.',
        description: 'what the team agreed',
        limit: 500,
      }),
    );
    const other = await client.blocks.create({ label: 'policy', value: 'Be kind.' });
    expect(await client.blocks.retrieve(created.id)).toEqual(created);
    // The agents' own blocks are blocks too (two each), newest first.
    const listed = (await client.blocks.list()).items;
    expect(listed).toHaveLength(6);
    expect(
      listed
        .slice(0, 2)
        .map((b) => b.id)
        .sort(),
    ).toEqual([created.id, other.id].sort());
    const oldestFirst = (await client.blocks.list({ order: 'asc' })).items;
    expect(oldestFirst.map((b) => b.id)).toEqual(listed.map((b) => b.id).reverse());
    expect((await client.blocks.list({ label: 'team' })).items).toEqual([created]);
    expect((await client.blocks.list({ value_search: 'FRIDAY' })).items).toEqual([created]);
    const paged: string[] = [];
    for await (const block of client.blocks.list({ limit: 2 })) paged.push(block.id);
    expect(paged).toEqual(listed.map((b) => b.id));

    const updated = await client.blocks.update(created.id, { value: 'We ship on Mondays.' });
    expect(updated).toEqual({ ...created, value: 'We ship on Mondays.' });
    const tooLong = await refusal(client.blocks.update(created.id, { value: 'x'.repeat(501) }));
    expect(tooLong).toBeInstanceOf(BadRequestError);
    expect(tooLong?.message).toContain("value: is 501 characters; the block's limit is 500");
    const badLabel = await refusal(client.blocks.create({ label: 'Team!', value: '' }));
    expect(badLabel).toBeInstanceOf(BadRequestError);
    expect(badLabel?.message).toContain('label');

    expect(await client.blocks.delete(created.id)).toEqual({ deleted: created.id });
    await expect(client.blocks.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.blocks.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('a block shared by several agents', () => {
  it('is one memory: what one agent writes, the other reads', async () => {
    const client = sdk(s.acme.apiKey);
    const shared = await client.blocks.create({ label: 'human', value: '' });
    const [first, second] = await Promise.all(
      ['first', 'second'].map((name) => client.agents.create({ name, memory_blocks: [] })),
    );
    const a = first?.id ?? '';
    const b = second?.id ?? '';
    const attached = await client.agents.blocks.attach(shared.id, { agent_id: a });
    expect(attached.blocks).toEqual([blockShape({ id: shared.id, label: 'human', value: '' })]);
    await client.agents.blocks.attach(shared.id, { agent_id: b });
    // Attaching again changes nothing.
    expect((await client.agents.blocks.attach(shared.id, { agent_id: b })).blocks).toHaveLength(1);

    // The first agent edits its memory with its memory tool, in a turn.
    await client.agents.messages.create(a, { input: 'remember that I like tea' });
    const seen = await client.agents.blocks.retrieve('human', { agent_id: b });
    expect(seen).toMatchObject({ id: shared.id, value: expect.stringContaining('like tea') });
    // An edit through the second agent's label is the first one's too.
    await client.agents.blocks.update('human', { agent_id: b, value: 'Ada' });
    expect((await client.agents.retrieve(a)).blocks[0]).toMatchObject({ value: 'Ada' });
    expect((await client.blocks.retrieve(shared.id)).value).toBe('Ada');

    // Detached, the block stays with the other agent.
    const detached = await client.agents.blocks.detach(shared.id, { agent_id: a });
    expect(detached.blocks).toEqual([]);
    expect((await client.agents.retrieve(b)).blocks.map((x) => x.id)).toEqual([shared.id]);
    // Deleted, it leaves every agent.
    await client.blocks.delete(shared.id);
    expect((await client.agents.retrieve(b)).blocks).toEqual([]);
  });

  it('is given to a new agent with block_ids, after its own blocks', async () => {
    const client = sdk(s.acme.apiKey);
    const shared = await client.blocks.create({ label: 'team', value: 'ours' });
    const agent = await client.agents.create({
      memory_blocks: [{ label: 'human', value: '' }],
      block_ids: [shared.id],
    });
    expect(agent.blocks.map((b) => [b.label, b.id])).toEqual([
      ['human', expect.stringMatching(/^block-/)],
      ['team', shared.id],
    ]);
    const before = (await client.agents.list()).items.length;
    const missing = await refusal(client.agents.create({ block_ids: ['block-nope'] }));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing?.message).toContain('block_ids[0]: block block-nope not found');
    expect((await client.agents.list()).items).toHaveLength(before);
  });

  it('keeps one block per label on an agent, and a rename follows to every agent', async () => {
    const client = sdk(s.acme.apiKey);
    const agentId = s.acme.agentId;
    const human = await client.blocks.create({ label: 'human', value: 'someone else' });
    const clash = await refusal(client.agents.blocks.attach(human.id, { agent_id: agentId }));
    expect(clash).toBeInstanceOf(ConflictError);
    expect(clash?.message).toContain(`Agent ${agentId} already has a block labelled human`);

    const notes = await client.blocks.create({ label: 'notes', value: 'n' });
    await client.agents.blocks.attach(notes.id, { agent_id: agentId });
    await client.agents.blocks.attach(notes.id, { agent_id: s.acme.otherAgentId });
    await client.blocks.update(notes.id, { label: 'journal' });
    for (const id of [agentId, s.acme.otherAgentId]) {
      expect((await client.agents.blocks.retrieve('journal', { agent_id: id })).id).toBe(notes.id);
    }
    const taken = await refusal(client.blocks.update(notes.id, { label: 'persona' }));
    expect(taken).toBeInstanceOf(ConflictError);
    expect((await client.blocks.retrieve(notes.id)).label).toBe('journal');
  });

  it('goes with an agent that is deleted only if no other agent holds it', async () => {
    const client = sdk(s.acme.apiKey);
    const agent = await client.agents.create({
      name: 'short-lived',
      memory_blocks: [{ label: 'own', value: 'mine' }],
    });
    const shared = await client.blocks.create({ label: 'shared', value: 'ours' });
    await client.agents.blocks.attach(shared.id, { agent_id: agent.id });
    await client.agents.blocks.attach(shared.id, { agent_id: s.acme.agentId });
    const own = agent.blocks[0]?.id ?? '';
    await client.agents.delete(agent.id);
    await expect(client.blocks.retrieve(own)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.blocks.retrieve(shared.id)).value).toBe('ours');
  });
});

describe('organizations', () => {
  it('never share a block, through the API or in the database', async () => {
    const ours = sdk(s.acme.apiKey);
    const globex = await seedOrganization(s.deps, 'globex');
    const theirs = sdk(globex.apiKey);
    const block = await ours.blocks.create({ label: 'secret', value: 'acme only' });
    await expect(theirs.blocks.retrieve(block.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(theirs.blocks.update(block.id, { value: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      theirs.agents.blocks.attach(block.id, { agent_id: globex.agentId }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      ours.agents.blocks.attach(block.id, { agent_id: globex.agentId }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await theirs.blocks.list()).items.map((b) => b.id)).not.toContain(block.id);
    // Whatever the code did, the database refuses the link: its keys carry the organization.
    const link = s.deps.db.insert(agentBlocks).values({
      agentId: globex.agentId,
      blockId: block.id,
      organizationId: globex.organizationId,
      label: 'secret',
      position: 99,
    });
    await expect(link).rejects.toThrow();
    const mislabelled = s.deps.db.insert(agentBlocks).values({
      agentId: globex.agentId,
      blockId: block.id,
      organizationId: s.acme.organizationId,
      label: 'secret',
      position: 99,
    });
    await expect(mislabelled).rejects.toThrow();
    expect((await ours.agents.retrieve(s.acme.agentId)).blocks.map((b) => b.id)).not.toContain(
      block.id,
    );
  });
});

describe('a client-side token', () => {
  it('edits a shared block of its agent by label with write_agent, and nothing else', async () => {
    const client = sdk(s.acme.apiKey);
    const shared = await client.blocks.create({ label: 'team', value: 'v1' });
    await client.agents.blocks.attach(shared.id, { agent_id: s.acme.agentId });
    await client.agents.blocks.attach(shared.id, { agent_id: s.acme.otherAgentId });
    const browser = await browserClient(['read_agent', 'write_agent']);
    await browser.agents.blocks.update('team', { agent_id: s.acme.agentId, value: 'v2' });
    expect(
      (await client.agents.blocks.retrieve('team', { agent_id: s.acme.otherAgentId })).value,
    ).toBe('v2');
    for (const call of [
      () => browser.blocks.create({ label: 'x', value: 'y' }),
      () => browser.blocks.list(),
      () => browser.blocks.retrieve(shared.id),
      () => browser.blocks.update(shared.id, { value: 'v3' }),
      () => browser.blocks.delete(shared.id),
      () => browser.agents.blocks.detach(shared.id, { agent_id: s.acme.agentId }),
      () => browser.agents.blocks.attach(shared.id, { agent_id: s.acme.agentId }),
    ]) {
      const error = await refusal(call());
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error?.message).toContain('server-side API key');
    }
    expect((await client.blocks.retrieve(shared.id)).value).toBe('v2');
  });
});
