import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ServiceDeps } from '../../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './fixtures.js';
import { startTestServer, type TestServer } from './server.js';

export interface Suite {
  database: TestDatabase;
  deps: ServiceDeps;
  /** Only when asked for with `{ server: true }`. */
  server: TestServer;
  /** Seeded afresh before each test: an organization with a key and two agents. */
  acme: SeededOrganization;
}

/**
 * The usual life of a test file: one real database (and optionally a listening server) for
 * the file, emptied and re-seeded before each test. Fields are read inside tests, after the
 * hooks have filled them.
 */
export function useSuite(options: { server?: boolean } = {}): Suite {
  const suite = {} as Suite;
  beforeAll(async () => {
    suite.database = await openTestDatabase();
    suite.deps = makeDeps(suite.database);
    if (options.server) suite.server = await startTestServer(suite.deps);
  });
  afterAll(async () => {
    await suite.server?.close();
    await suite.database?.close();
  });
  beforeEach(async () => {
    await suite.database.reset();
    suite.acme = await seedOrganization(suite.deps, 'acme');
  });
  return suite;
}
