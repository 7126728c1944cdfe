import { pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import { unmigratedSchemaChanges, unmigratedSchemaProblem } from '../src/db/schema-check.js';
import { buildApp } from '../src/http/app.js';
import { useTestEnvironment } from './support/suite.js';

describe('a schema saved without its migration', () => {
  it('is not the case for the schema as committed', async () => {
    expect(
      await unmigratedSchemaChanges(schema, migrationsFolder),
      'src/db/schema.ts differs from the newest migration: run `pnpm db:generate`',
    ).toEqual([]);
  });

  it('is told by the tables it changes, with the command that fixes it', async () => {
    const { agents: _dropped, ...withoutAgents } = schema;
    const changed = {
      ...withoutAgents,
      nicknames: pgTable('nicknames', { id: text('id').primaryKey() }),
    };
    expect(await unmigratedSchemaChanges(changed, migrationsFolder)).toEqual([
      'agents',
      'nicknames',
    ]);
    expect(await unmigratedSchemaProblem(changed, migrationsFolder)).toMatch(
      /^src\/db\/schema\.ts changes .*agents.*nicknames.*: run `pnpm db:generate`/,
    );
  });
});

describe('a server told it is unavailable', () => {
  const environment = useTestEnvironment();
  let baseUrl: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const app = await buildApp({
      deps: environment.deps,
      logLevel: 'silent',
      unavailable: 'src/db/schema.ts changes agents',
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterAll(() => close?.());

  it('answers every request with a 503 carrying the message', async () => {
    for (const path of ['/healthz', '/trpc/session.me', '/v1/agents']) {
      const response = await fetch(`${baseUrl}${path}`);
      expect(response.status, path).toBe(503);
      expect(await response.json(), path).toMatchObject({
        message: 'src/db/schema.ts changes agents',
      });
    }
  });
});
