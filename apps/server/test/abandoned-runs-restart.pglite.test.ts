import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { createAgent } from '../src/agents/agent-write.js';
import { loadConfig } from '../src/config.js';
import { createRun, startRun } from '../src/conversation/runs.js';
import { runs } from '../src/db/schema.js';
import { openRuntime } from '../src/runtime.js';
import { writeMigratedDataDir } from './support/database.js';

const dataDir = mkdtempSync(join(tmpdir(), 'scopekit-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// Embedded PGlite on disk, as `pnpm dev` and a one-instance deployment keep it: a process
// killed mid-turn leaves its runs unended, and no other instance is there to end them.
it('ends at start the runs a killed embedded-database process left running or queued', {
  timeout: 120_000,
}, async () => {
  await writeMigratedDataDir(dataDir);
  const config = loadConfig({ DATA_DIR: dataDir, SCOPEKIT_LOG_LEVEL: 'silent' });
  const killed = await openRuntime(config, { serve: false });
  const { db } = killed.deps;
  const org = await ensureOrganization({ db }, 'acme');
  const agent = await createAgent({ db }, { organizationId: org.id, name: 'Bot' });
  const run = (id: string) =>
    createRun(db, {
      id,
      organizationId: org.id,
      agentId: agent.id,
      background: false,
      createdAt: new Date(),
    });
  await run('run-running');
  await startRun(db, 'run-running');
  await run('run-queued');
  // Closed without ending them, as a kill leaves them; the lock file is released here only
  // so that the next open need not find it stale (pglite-lock.test.ts covers that).
  await killed.close();

  const restarted = await openRuntime(config);
  try {
    const rows = await restarted.deps.db.select().from(runs).orderBy(runs.id);
    expect(rows.map((r) => [r.id, r.status, r.stopReason, r.completedAt !== null])).toEqual([
      ['run-queued', 'failed', 'error', true],
      ['run-running', 'failed', 'error', true],
    ]);
  } finally {
    await restarted.close();
  }
});
