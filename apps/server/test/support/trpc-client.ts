import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../../src/trpc/router.js';
import { APP_ORIGIN } from './fixtures.js';

/**
 * A browser-like tRPC client of a listening server: batched calls with the token as a bearer,
 * subscriptions over SSE with it in the Authorization header too (through the EventSource's
 * fetch, as the web app does), and the app's `Origin` on both.
 */
export function browserTrpcClient(baseUrl: string, token: string): TRPCClient<AppRouter> {
  const url = `${baseUrl}/trpc`;
  const withOrigin: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), origin: APP_ORIGIN },
    });
  const withToken: typeof fetch = (input, init) =>
    withOrigin(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: () => ({ fetch: withToken }),
        }),
        false: httpBatchLink({
          url,
          fetch: withOrigin,
          headers: { authorization: `Bearer ${token}` },
        }),
      }),
    ],
  });
}
