import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Unit tests of the client's plain modules, in Node: the pages are covered by the browser
// tests (e2e/, Playwright).
export default defineConfig({
  ssr: { resolve: { conditions: ['@scopekit/source', ...defaultServerConditions] } },
  test: {
    include: ['test/**/*.test.ts'],
  },
});
