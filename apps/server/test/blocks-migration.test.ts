import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../src/db/client.js';
import { emptyPGlite } from './support/database.js';

/**
 * Agents made before blocks had rows of their own kept them as a jsonb list on the agent:
 * the migration turns each into a block row attached to its agent, in order, under the id
 * the API showed for it (derived from agent and label).
 */

const BEFORE_BLOCKS = 'agents_id_organization';

/** The migrations up to and including `tag`, in a folder of their own. */
function migrationsUpTo(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'scopekit-migrations-'));
  cpSync(migrationsFolder, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as {
    entries: { idx: number; tag: string }[];
  };
  const last = journal.entries.findIndex((e) => e.tag.endsWith(tag));
  expect(last).toBeGreaterThanOrEqual(0);
  journal.entries = journal.entries.slice(0, last + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

/** How the API derived a block's id before blocks were rows. */
function legacyBlockId(agentId: string, label: string): string {
  const hex = createHash('sha256').update(`${agentId}\0${label}`).digest('hex');
  return `block-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const OLD_DATA = `
  insert into organizations (id, name) values ('org-1', 'acme');
  insert into agents (id, organization_id, name, memory_blocks) values
    ('agent-1', 'org-1', 'one', '[{"label":"persona","value":"A cat.","description":"who","limit":50},
                                  {"label":"human","value":"Ada, née Byron","read_only":true}]'),
    ('agent-2', 'org-1', 'two', '[]');
`;

type Query = (text: string) => Promise<Record<string, unknown>[]>;

async function checkMigrated(query: Query) {
  expect(
    await query(
      'select id, organization_id, label, value, description, "limit", read_only from blocks order by label',
    ),
  ).toEqual([
    {
      id: legacyBlockId('agent-1', 'human'),
      organization_id: 'org-1',
      label: 'human',
      value: 'Ada, née Byron',
      description: null,
      limit: null,
      read_only: true,
    },
    {
      id: legacyBlockId('agent-1', 'persona'),
      organization_id: 'org-1',
      label: 'persona',
      value: 'A cat.',
      description: 'who',
      limit: 50,
      read_only: false,
    },
  ]);
  expect(
    await query('select agent_id, block_id, label, position from agent_blocks order by position'),
  ).toEqual([
    {
      agent_id: 'agent-1',
      block_id: legacyBlockId('agent-1', 'persona'),
      label: 'persona',
      position: 1,
    },
    {
      agent_id: 'agent-1',
      block_id: legacyBlockId('agent-1', 'human'),
      label: 'human',
      position: 2,
    },
  ]);
  expect(
    await query(
      "select column_name from information_schema.columns where table_name = 'agents' and column_name = 'memory_blocks'",
    ),
  ).toEqual([]);
}

describe('agents’ jsonb memory blocks', () => {
  const folders: string[] = [];
  afterAll(() => {
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('become block rows attached to their agents, keeping their ids', async () => {
    const before = migrationsUpTo(BEFORE_BLOCKS);
    folders.push(before);
    if (process.env.TEST_DATABASE === 'postgres') {
      const adminUrl = process.env.DATABASE_URL ?? '';
      const name = `scopekit_test_${randomBytes(6).toString('hex')}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const db = drizzlePostgres({ client: sql });
        await migratePostgres(db, { migrationsFolder: before });
        await sql.unsafe(OLD_DATA);
        await migratePostgres(db, { migrationsFolder });
        await checkMigrated(async (text) => [...(await sql.unsafe(text))]);
      } finally {
        await sql.end();
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.end();
      }
      return;
    }
    const pglite = await emptyPGlite();
    try {
      const db = drizzlePglite({ client: pglite });
      await migratePglite(db, { migrationsFolder: before });
      await pglite.exec(OLD_DATA);
      await migratePglite(db, { migrationsFolder });
      await checkMigrated(async (text) => (await pglite.query<Record<string, unknown>>(text)).rows);
    } finally {
      await pglite.close();
    }
  });
});
