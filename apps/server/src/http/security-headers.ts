import type { ServerResponse } from 'node:http';

/**
 * What the served web app may load: its own hashed scripts and styles and nothing inline, its
 * own API, and no framing. API answers carry it too, which costs nothing and covers a JSON
 * body a browser is somehow made to render.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/**
 * The policy when the agent API is on another origin (SCOPEKIT_AGENT_API_URL, or Letta under
 * SCOPEKIT_AGENT_HOST=letta): the app may connect there too, and nowhere else.
 */
export function contentSecurityPolicy(agentApiUrl: string): string {
  return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", `connect-src 'self' ${agentApiUrl}`);
}

/**
 * The headers on every response, whoever writes it: a route, Fastify's own routing errors, or
 * the refusal of a request Node's parser could not read. One list, so none of them can miss one.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  // The legacy XSS auditor could be abused to blank out parts of a page; turn it off.
  'x-xss-protection': '0',
};

/**
 * Set on the raw response, so that answers written past Fastify's reply (event streams,
 * tRPC's) keep them as well.
 */
export function applySecurityHeaders(raw: ServerResponse, path: string, agentApiUrl = '') {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) raw.setHeader(name, value);
  if (agentApiUrl) raw.setHeader('content-security-policy', contentSecurityPolicy(agentApiUrl));
  // API answers carry tokens (a mint, a token list, a session's token): never cache one.
  if (isApiPath(path)) raw.setHeader('cache-control', 'no-store');
}

export function isApiPath(path: string): boolean {
  return path.startsWith('/v1/') || path.startsWith('/trpc/') || path === '/healthz';
}
