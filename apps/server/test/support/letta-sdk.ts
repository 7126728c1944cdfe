import Letta from '@letta-ai/letta-client';
import type { AccessOf } from '@scopekit/policy';
import { mintClientToken } from '../../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './fixtures.js';
import type { Suite } from './suite.js';

/**
 * The official SDK as a Letta app configures it, against `baseURL`. No retries: a test sees
 * the first answer, and a refusal fails at once. `origin` is what a browser would send.
 */
export const lettaClient = (apiKey: string, baseURL: string, origin?: string) =>
  new Letta({
    apiKey,
    baseURL,
    maxRetries: 0,
    defaultHeaders: origin ? { Origin: origin } : undefined,
  });

/**
 * The two SDK clients of a suite started with `{ server: true }`: the backend's, with a key
 * (`sdk(s.acme.apiKey)`), and a browser's, with a ck-let- token freshly minted for one
 * agent of acme, sent from APP_ORIGIN. The server is read at each call, once it has started.
 */
export function useLettaSdk(s: Suite) {
  const sdk = (apiKey: string, origin?: string) => lettaClient(apiKey, s.server.baseUrl, origin);
  const browserClient = async (access: AccessOf<'agent'>[], agentId = s.acme.agentId) => {
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: agentId, access }],
    });
    return sdk(token, APP_ORIGIN);
  };
  return { sdk, browserClient };
}

/** What a call was refused with, or undefined when it was answered. */
export async function refusal(call: Promise<unknown>) {
  return (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as Error | undefined;
}
