/** Types for clients (the web app imports these with `import type`, so no server code ships). */

export type {
  ClientTokenSummary,
  ClientTokenView,
  MintedClientToken,
} from './tokens/client-tokens.js';
export type { AppRouter } from './trpc/router.js';
