import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Every database test runs on embedded PGlite, and again on real PostgreSQL when
// DATABASE_URL is set (CI sets it), each test file in its own fresh database. Files named
// `*.postgres.test.ts` need what only PostgreSQL has (several instances, a network to cut)
// and run in the postgres project alone; `*.pglite.test.ts` are about the embedded database
// on disk (what a killed process leaves behind) and run in the pglite project alone.
const databases = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  // The policy package from its source, as in dev: no build before a test run.
  ssr: { resolve: { conditions: ['@scopekit/source', ...defaultServerConditions] } },
  test: {
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // One worker per core. Vitest's default leaves a core to itself (one worker on a 2-core
    // machine), but much of a file's time is spent waiting (on a child process, a socket, a
    // timer), during which the other worker has the core.
    maxWorkers: '100%',
    // A worker imports the server's modules once and runs file after file on them, rather
    // than importing them all again for every file: that import was about half the suite's
    // CPU. Files share no state through modules: each opens its own database and deps
    // (test/support/suite.ts), and nothing is mocked at module level. A test that needs a
    // module of its own state would belong in a file of its own with `isolate: true`.
    isolate: false,
    projects: databases.map((database) => ({
      extends: true,
      test: {
        name: database,
        include: ['test/**/*.test.ts'],
        exclude: [`test/**/*.${database === 'pglite' ? 'postgres' : 'pglite'}.test.ts`],
        env: { TEST_DATABASE: database },
        globalSetup: database === 'pglite' ? ['test/support/pglite-snapshot.ts'] : [],
      },
    })),
  },
});
