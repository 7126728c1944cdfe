// SCOPEKIT_AGENT_HOST=letta: the agents live on Letta (Cloud or self-hosted), not here.
import { z } from 'zod';
import { StartRefusal } from '../start-refusal.js';

/** Letta Cloud, the SDK's own default. */
export const LETTA_CLOUD_URL = 'https://api.letta.com';

export const lettaHostSettings = z.object({
  /**
   * `letta` keeps the agents on Letta (Cloud or a self-hosted server): sign-up creates them
   * there and session.token mints the browser's token there, with LETTA_API_KEY.
   */
  SCOPEKIT_AGENT_HOST: z.enum(['scopekit', 'letta']).default('scopekit'),
  /** Letta's origin under SCOPEKIT_AGENT_HOST=letta; Letta Cloud when unset. */
  LETTA_BASE_URL: z.string().optional(),
  /** The server-side sk-let- key for Letta; never sent to the browser or logged. */
  LETTA_API_KEY: z.string().optional(),
  /** The Letta Cloud project the agents are created in, when not the key's default. */
  LETTA_PROJECT: z.string().optional(),
});

export interface LettaHostConfig {
  /** Letta's origin, as this server and the browser both call it. */
  baseUrl: string;
  /** The server-side `sk-let-` key: it stays on this server. */
  apiKey: string;
  project: string | undefined;
}

/** Undefined in the default mode, where scopekit hosts the agents itself. */
export function lettaHostConfig(e: z.infer<typeof lettaHostSettings>): LettaHostConfig | undefined {
  if (e.SCOPEKIT_AGENT_HOST !== 'letta') return undefined;
  const apiKey = e.LETTA_API_KEY?.trim();
  if (!apiKey) {
    throw new StartRefusal(
      'Invalid configuration: SCOPEKIT_AGENT_HOST=letta needs LETTA_API_KEY (a server-side sk-let- key)',
    );
  }
  const raw = e.LETTA_BASE_URL?.trim() || LETTA_CLOUD_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StartRefusal(`Invalid configuration: LETTA_BASE_URL: "${raw}" is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/') {
    throw new StartRefusal(
      `Invalid configuration: LETTA_BASE_URL: "${raw}" must be an http(s) origin without a path`,
    );
  }
  return { baseUrl: url.origin, apiKey, project: e.LETTA_PROJECT?.trim() || undefined };
}
