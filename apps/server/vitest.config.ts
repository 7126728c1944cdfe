import { defineConfig } from 'vitest/config';

// Every database test runs on embedded PGlite, and again on real PostgreSQL when
// DATABASE_URL is set (CI sets it), each test file in its own fresh database.
const databases = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  test: {
    hookTimeout: 60_000,
    testTimeout: 30_000,
    projects: databases.map((database) => ({
      extends: true,
      test: {
        name: database,
        include: ['test/**/*.test.ts'],
        env: { TEST_DATABASE: database },
      },
    })),
  },
});
