import { TOKEN_TTL_SECONDS } from './support';

/** SCOPEKIT_E2E_PORT moves the shared server off 4318 (two runs at once, say). */
export const e2ePort = Number(process.env.SCOPEKIT_E2E_PORT ?? 4318);
export const e2eOrigin = `http://127.0.0.1:${e2ePort}`;

/** The shared server's settings over those of every server the tests start (servers.ts). */
export const mainServerEnv: NodeJS.ProcessEnv = {
  SCOPEKIT_WEB_ORIGINS: e2eOrigin,
  // The shortest lifetime allowed, so the tests see refreshes (token-lifetime.spec.ts moves
  // the browser's clock rather than waiting for them).
  SCOPEKIT_WEB_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
};
