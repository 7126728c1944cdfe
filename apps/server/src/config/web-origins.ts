// SCOPEKIT_WEB_ORIGINS and SCOPEKIT_AGENT_API_URL: where the browser app and agent API are served.
import { parseHostname } from '@scopekit/policy';
import { StartRefusal } from '../start-refusal.js';

/**
 * In development the Vite dev server (on SCOPEKIT_WEB_PORT) and the server itself (which
 * serves the built app) are the web origins; a deployment names its public origin.
 */
function defaultWebOrigins(ports: number[]): string[] {
  return ports.flatMap((p) => [`http://localhost:${p}`, `http://127.0.0.1:${p}`]);
}

/** In production there is no default: localhost origins would quietly break the deployed app. */
export function parseWebOrigins(
  value: string | undefined,
  ports: number[],
  production: boolean,
): string[] {
  if (value === undefined || value.trim() === '') return production ? [] : defaultWebOrigins(ports);
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const parsed = parseHostname(item);
      if (!parsed.ok)
        throw new StartRefusal(
          `Invalid configuration: SCOPEKIT_WEB_ORIGINS: "${item}" ${parsed.error}`,
        );
      return parsed.value;
    });
}

/** An http(s) origin without a path: the browser appends `/trpc` itself. */
export function parseAgentApiUrl(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return '';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new StartRefusal(
      `Invalid configuration: SCOPEKIT_AGENT_API_URL: "${value}" is not a URL`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/') {
    throw new StartRefusal(
      `Invalid configuration: SCOPEKIT_AGENT_API_URL: "${value}" must be an http(s) origin without a path`,
    );
  }
  return url.origin;
}
