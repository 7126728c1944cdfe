import type { AppRouter } from '@scopekit/server';
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { EventSource } from 'eventsource';
import { createSignal } from 'solid-js';
import { AgentHttpError } from './agent-http';

type Outputs = inferRouterOutputs<AppRouter>;
export type User = NonNullable<Outputs['session']['me']>;
export type LettaMessage = Outputs['messages']['list'][number];
export type TokenPage = Outputs['admin']['tokens']['list'];
export type AdminToken = TokenPage['tokens'][number];

const url = '/trpc';

/**
 * Calls made with the session cookie: log-in, minting the agent token, admin. `include` so
 * that a deployment serving the app from another (allow-listed) origin still sends it.
 */
export const sessionApi = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url,
      fetch: (input, init) => fetch(input, { ...init, credentials: 'include' }),
    }),
  ],
});

/**
 * The agent API's origin, as the session hands it out with each token: '' (this origin) unless
 * the agent API is deployed on another one (SCOPEKIT_AGENT_API_URL on the server).
 */
let apiUrl = '';
export const agentApiUrl = () => apiUrl;
/**
 * Which API the agent host speaks, as the session hands it out with each token: scopekit's
 * own (tRPC), or Letta's REST API (SCOPEKIT_AGENT_HOST=letta on the server).
 */
const [host, setHost] = createSignal<'scopekit' | 'letta'>('scopekit');
export const agentHost = host;
export function setAgentHost(minted: { agentApiUrl: string; agentHost: 'scopekit' | 'letta' }) {
  apiUrl = minted.agentApiUrl;
  setHost(minted.agentHost);
}

/**
 * Calls to the agent itself, on the agent API's origin, with one short-lived `ck-let-` token as the only credential: no
 * cookie is sent, exactly as if the agent lived on another server. A client is bound to one
 * token so that whoever made a call knows which token a 401 refused.
 */
export function createAgentApi(token: string) {
  const authorization = `Bearer ${token}`;
  const url = `${apiUrl}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // The browser's own EventSource cannot set headers, and a token in the URL ends up in
        // proxies' and load balancers' logs: this one reads the stream through fetch, which
        // sends the token in the Authorization header (and no cookie) as the calls do.
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, {
                ...init,
                credentials: 'omit',
                headers: { ...init.headers, authorization },
              }),
          },
        }),
        false: httpLink({
          url,
          headers: { authorization },
          fetch: (input, init) => fetch(input, { ...init, credentials: 'omit' }),
        }),
      }),
    ],
  });
}

export function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = error.data as { httpStatus?: number } | undefined;
  return data?.httpStatus;
}

export const isUnauthorized = (error: unknown) =>
  httpStatusOf(error) === 401 ||
  (error instanceof AgentHttpError && error.status === 401) ||
  (error instanceof TRPCClientError &&
    (error.data as { code?: string } | undefined)?.code === 'UNAUTHORIZED');

/** A sentence for a person: the server's message when it sent one, or what went wrong. */
export function describeError(error: unknown): string {
  if (error instanceof TRPCClientError) {
    if (error.message && !/^(fetch failed|Failed to fetch|Unexpected token)/.test(error.message))
      return error.message;
    return 'Cannot reach the server. Check your connection and try again.';
  }
  // fetch's own failure: nothing answered (the agent host, on another origin, included).
  if (error instanceof TypeError)
    return 'Cannot reach the server. Check your connection and try again.';
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
