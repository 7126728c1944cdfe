import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../src/trpc/router.js';
import { ORIGIN } from './harness.js';

/** A tRPC client as the web app has one: the token in a header, subscriptions over SSE. */
export function trpcClient(url: string, token: string) {
  const withOrigin: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), origin: ORIGIN },
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
          url: `${url}/trpc`,
          EventSource,
          eventSourceOptions: () => ({ fetch: withToken }),
        }),
        false: httpBatchLink({
          url: `${url}/trpc`,
          fetch: withOrigin,
          headers: { authorization: `Bearer ${token}` },
        }),
      }),
    ],
  });
}

/** `count` subscriptions to the agent's conversation, resolved once every one is live. */
export async function openStreams(
  count: number,
  urlOf: (i: number) => string,
  agentId: string,
  token: string,
  handlers: { onUserMessage?: (content: string) => void; onStop?: (subscriber: number) => void },
) {
  const subscriptions: { unsubscribe(): void }[] = [];
  const started: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = trpcClient(urlOf(i), token);
    started.push(
      new Promise<void>((resolve, reject) => {
        subscriptions.push(
          client.messages.events.subscribe(
            { agentId },
            {
              onStarted: () => resolve(),
              onData: ({ data }) => {
                if (data.type === 'message' && data.message.message_type === 'user_message') {
                  handlers.onUserMessage?.(data.message.content);
                }
                if (data.type === 'stop') handlers.onStop?.(i);
              },
              onError: reject,
            },
          ),
        );
      }),
    );
    // Opened a few at a time, as browsers arrive, not all in one burst.
    if (i % 50 === 49) await Promise.all(started.slice(-50));
  }
  await Promise.all(started);
  return {
    close: () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
