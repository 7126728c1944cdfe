import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ServiceDeps } from '../../src/deps.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { makeDeps, type SeededOrganization, seedOrganization, type TestClock } from './fixtures.js';
import { startTestServer, type TestServer } from './server.js';

export interface SuiteOptions {
  /** Also start the HTTP app on loopback. */
  server?: boolean;
  /** A clock the file moves; `useSuite` sets it back before each test. */
  clock?: TestClock;
  limits?: Partial<ServiceDeps['limits']>;
}

export interface TestEnvironment {
  database: TestDatabase;
  deps: ServiceDeps;
  /** Only when asked for with `{ server: true }`. */
  server: TestServer;
}

export interface Suite extends TestEnvironment {
  /** Seeded afresh before each test: an organization with a key and two agents. */
  acme: SeededOrganization;
}

/**
 * One real database (and optionally a listening server) for the whole file, for a file that
 * builds its own world once. Fields are read inside hooks and tests, after they are filled.
 */
export function useTestEnvironment(options: SuiteOptions = {}): TestEnvironment {
  const environment = {} as TestEnvironment;
  beforeAll(async () => {
    environment.database = await openTestDatabase();
    environment.deps = makeDeps(environment.database, options.clock, options.limits);
    if (options.server) environment.server = await startTestServer(environment.deps);
  });
  afterAll(async () => {
    await environment.server?.close();
    await environment.database?.close();
  });
  return environment;
}

/**
 * The usual life of a test file: `useTestEnvironment`, emptied and re-seeded before each
 * test, with the clock set back and nothing left of the previous test in memory (uses not
 * yet written, verified credentials).
 */
export function useSuite(options: SuiteOptions = {}): Suite {
  const suite = useTestEnvironment(options) as Suite;
  beforeEach(async () => {
    options.clock?.reset();
    await suite.deps.lastUsed.flush();
    suite.deps.tokenCache.clear();
    await suite.database.reset();
    suite.acme = await seedOrganization(suite.deps, 'acme');
  });
  return suite;
}
