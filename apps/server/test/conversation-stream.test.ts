import type { TRPCClient } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import {
  type ConversationEvent,
  conversationChannel,
  MAX_BUFFERED_EVENTS,
  openConversationEvents,
  publishConversationEvent,
  REPLAY_PAGE,
  type TrackedEvent,
} from '../src/conversation/conversation-events.js';
import { sendMessages } from '../src/conversation/messages.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import type { EventBus } from '../src/events/bus.js';
import { PING_MS } from '../src/http/sse.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { type AppRouter, appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { browserTrpcClient } from './support/trpc-client.js';

/** A reply's text: tRPC's inferred type leaves `content` off the messages that have none. */
const textOf = (m: unknown) => (m as { content?: string } | undefined)?.content;

const s = useSuite({ server: true });

async function tokenFor(agentId = s.acme.agentId) {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: agentId, access: ['read_messages', 'write_messages'] }],
  });
  return token;
}

/** Collects a subscription's events until `until` says stop. */
function watch(
  client: TRPCClient<AppRouter>,
  input: { agentId: string; lastEventId?: string },
  until: (events: { id: string; event: ConversationEvent }[]) => boolean,
) {
  const events: { id: string; event: ConversationEvent }[] = [];
  let started!: () => void;
  const ready = new Promise<void>((r) => {
    started = r;
  });
  const done = new Promise<typeof events>((resolve, reject) => {
    const subscription = client.messages.events.subscribe(input, {
      onStarted: () => started(),
      onData: ({ id, data }) => {
        events.push({ id, event: data });
        if (until(events)) {
          subscription.unsubscribe();
          resolve(events);
        }
      },
      onError: (error) => {
        subscription.unsubscribe();
        reject(error);
      },
    });
  });
  return { ready, done, events };
}

const stopped = (events: { event: ConversationEvent }[]) =>
  events.some((e) => e.event.type === 'stop');

describe('the live conversation stream', () => {
  it('gives two tabs the same conversation: stored messages and the reply piece by piece', async () => {
    const token = await tokenFor();
    const [tab1, tab2] = [
      browserTrpcClient(s.server.baseUrl, token),
      browserTrpcClient(s.server.baseUrl, token),
    ];
    // Resuming from 0 replays anything stored before the stream was live: no race to lose.
    const w1 = watch(tab1, { agentId: s.acme.agentId, lastEventId: '0' }, stopped);
    const w2 = watch(tab2, { agentId: s.acme.agentId, lastEventId: '0' }, stopped);
    await Promise.all([w1.ready, w2.ready]);

    const response = await tab1.messages.send.mutate({ agentId: s.acme.agentId, content: 'hello' });
    const [events1, events2] = await Promise.all([w1.done, w2.done]);
    expect(events2.map((e) => e.id)).toEqual(events1.map((e) => e.id));

    const types = events1.map((e) => e.event.type);
    expect(types[0]).toBe('message');
    expect(types.at(-1)).toBe('stop');
    const deltas = events1.flatMap((e) => (e.event.type === 'delta' ? [e.event] : []));
    const reply = response.messages[0];
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.text).join('')).toBe(textOf(reply));
    expect(new Set(deltas.map((d) => d.messageId))).toEqual(new Set([reply?.id]));
    const stored = events1.flatMap((e) => (e.event.type === 'message' ? [e.event.message] : []));
    expect(stored.map((m) => [m.message_type, m.content])).toEqual([
      ['user_message', 'hello'],
      ['assistant_message', textOf(reply)],
    ]);
    expect(events1.at(-1)?.event).toMatchObject({ type: 'stop', stopReason: 'end_turn' });
  });

  it('resumes after a reconnect with lastEventId, replaying only what was missed', async () => {
    const token = await tokenFor();
    const client = browserTrpcClient(s.server.baseUrl, token);
    await client.messages.send.mutate({ agentId: s.acme.agentId, content: 'one' });
    const [first] = await client.messages.list.query({
      agentId: s.acme.agentId,
      order: 'asc',
      limit: 1,
    });
    await client.messages.send.mutate({ agentId: s.acme.agentId, content: 'two' });

    // Resuming after the first message: its reply and both messages of the second turn.
    const resumed = watch(
      client,
      { agentId: s.acme.agentId, lastEventId: String(first?.seq_id) },
      (events) => events.length === 3,
    );
    const events = await resumed.done;
    expect(
      events.map((e) => (e.event.type === 'message' ? e.event.message.content : e.event.type)),
    ).toEqual([expect.stringContaining('one'), 'two', expect.stringContaining('two')]);
    expect(events.map((e) => Number(e.id))).toEqual(
      events.map((e) => (e.event.type === 'message' ? e.event.message.seq_id : -1)),
    );
  });

  it('replays a backlog longer than one page in full, then goes on live', async () => {
    const backlog = 2 * REPLAY_PAGE + 5;
    await s.database.db.insert(messages).values(
      Array.from({ length: backlog }, (_, i) => ({
        id: `message-backlog-${i}`,
        agentId: s.acme.agentId,
        messageType: 'user_message' as const,
        content: `backlog ${i}`,
        runId: 'run-backlog',
      })),
    );
    const controller = new AbortController();
    const received: TrackedEvent[] = [];
    const stream = await openConversationEvents(s.deps, {
      agentId: s.acme.agentId,
      lastEventId: '0',
      signal: controller.signal,
    });
    for await (const tracked of stream) {
      received.push(tracked);
      if (received.length === backlog) break;
    }
    const live = await openConversationEvents(s.deps, {
      agentId: s.acme.agentId,
      lastEventId: received.at(-1)?.id,
      signal: controller.signal,
    });
    const first = live.next();
    await sendMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'after the backlog' }],
    });
    const next = await first;
    controller.abort();
    await live.return(undefined);

    const contents = received.map((r) =>
      r.event.type === 'message' ? r.event.message.content : '',
    );
    expect(contents).toEqual(Array.from({ length: backlog }, (_, i) => `backlog ${i}`));
    expect(next.value?.event).toMatchObject({
      type: 'message',
      message: { content: 'after the backlog' },
    });
  });

  it('listens before its answer starts: what is published once the stream is open is delivered', async () => {
    // tRPC reports a stream connected as soon as its procedure returns, before reading it.
    const controller = new AbortController();
    const caller = createCallerFactory(appRouter)(
      createContextFromHeaders(s.deps, {
        authorization: `Bearer ${await tokenFor()}`,
        origin: APP_ORIGIN,
      }),
      { signal: controller.signal },
    );
    const opened = await caller.messages.events({ agentId: s.acme.agentId });
    await sendMessages(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'right away' }],
    });
    const first = await opened[Symbol.asyncIterator]().next();
    // A caller sees what `tracked()` made: an [id, event] envelope.
    const [, event] = first.value as unknown as [string, ConversationEvent];
    expect(event).toMatchObject({ type: 'message', message: { content: 'right away' } });
    controller.abort();
  });

  // tRPC never reads a stream whose client left before it was returned, so nothing but the
  // abort can let go of what opening it took: a LISTEN, a revocation watcher, a re-check timer.
  it.each([
    ['before the stream is opened', 'before'],
    ['while its subscription is made', 'subscribing'],
  ] as const)('lets go of everything when its client leaves %s', async (_, when) => {
    const controller = new AbortController();
    const subscriptions = new Set<object>();
    const bus: EventBus = {
      publish: (channel, payload) => s.deps.bus.publish(channel, payload),
      transaction: (db, work) => s.deps.bus.transaction(db, work),
      subscribe: async (channel, handler, onInterruption) => {
        const stop = await s.deps.bus.subscribe(channel, handler, onInterruption);
        const subscription = {};
        subscriptions.add(subscription);
        if (when === 'subscribing') controller.abort();
        return async () => {
          subscriptions.delete(subscription);
          await stop();
        };
      },
      close: () => s.deps.bus.close(),
    };
    const watchers = new Set<object>();
    const { tokenCache } = s.deps;
    const watch = tokenCache.watch.bind(tokenCache);
    vi.spyOn(tokenCache, 'watch').mockImplementation((hash, onEvicted) => {
      const unwatch = watch(hash, onEvicted);
      const watcher = {};
      watchers.add(watcher);
      return () => {
        watchers.delete(watcher);
        unwatch();
      };
    });
    const deps: ServiceDeps = { ...s.deps, bus };
    const caller = createCallerFactory(appRouter)(
      createContextFromHeaders(deps, {
        authorization: `Bearer ${await tokenFor()}`,
        origin: APP_ORIGIN,
      }),
      { signal: controller.signal },
    );
    if (when === 'before') controller.abort();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      await caller.messages.events({ agentId: s.acme.agentId });
      expect(tokenCache.watch).toHaveBeenCalledOnce();
      await vi.waitFor(() => expect(subscriptions.size).toBe(0));
      expect(watchers.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });

  it('ends a stream whose reader falls too far behind, so the client resumes from its last id', async () => {
    const controller = new AbortController();
    const events = await openConversationEvents(s.deps, {
      agentId: s.acme.agentId,
      signal: controller.signal,
    });
    let delivered = 0;
    const stop = await s.deps.bus.subscribe(conversationChannel(s.acme.agentId), () => {
      delivered += 1;
    });
    const delta = (index: number): ConversationEvent => ({
      type: 'delta',
      messageId: 'message-1',
      runId: 'run-1',
      text: 'word ',
      index,
      afterSeq: 0,
    });
    for (let i = 0; i <= MAX_BUFFERED_EVENTS; i++) {
      await publishConversationEvent(s.deps.bus, s.acme.agentId, delta(i));
    }
    // Delivered to every local subscriber in turn: the stream has had them all by now.
    while (delivered <= MAX_BUFFERED_EVENTS) await new Promise((r) => setTimeout(r, 5));
    await expect(events.next()).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringContaining(`fell more than ${MAX_BUFFERED_EVENTS} events behind`),
    });
    await stop();
    controller.abort();
  });

  it('pings while the conversation is quiet, so proxies keep the idle stream open', async () => {
    const query = new URLSearchParams({ input: JSON.stringify({ agentId: s.acme.agentId }) });
    const authorization = `Bearer ${await tokenFor()}`;
    const controller = new AbortController();
    // The stream's quiet wait (PING_MS) on fake timers, from before the stream starts its
    // timer: moved past, not slept through.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let text = '';
    try {
      const response = await fetch(`${s.server.baseUrl}/trpc/messages.events?${query}`, {
        headers: { accept: 'text/event-stream', origin: APP_ORIGIN, authorization },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const decoder = new TextDecoder();
      const reader = (response.body ?? new ReadableStream<Uint8Array>()).getReader();
      while (!text.includes('event: connected')) {
        const { value } = await reader.read();
        text += decoder.decode(value, { stream: true });
      }
      expect(text).not.toContain('event: ping');
      const next = reader.read();
      await vi.advanceTimersByTimeAsync(PING_MS);
      text += decoder.decode((await next).value, { stream: true });
    } finally {
      vi.useRealTimers();
      controller.abort();
    }
    expect(text).toMatch(/^event: connected\n/);
    expect(text).toContain('\n\nevent: ping\n');
  });

  it('ends with a 401 when its token expires, so the client refreshes and resubscribes', async () => {
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages'] }],
      expiresAt: new Date(Date.now() + 1_500),
    });
    const watching = watch(
      browserTrpcClient(s.server.baseUrl, token),
      { agentId: s.acme.agentId },
      () => false,
    );
    await expect(watching.done).rejects.toMatchObject({
      message: 'The token has expired',
      data: { code: 'UNAUTHORIZED' },
    });
  });

  it('is refused without read_messages, on another agent, and for an unknown agent', async () => {
    const { token } = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['write_messages'] }],
    });
    const writeOnly = browserTrpcClient(s.server.baseUrl, token);
    await expect(watch(writeOnly, { agentId: s.acme.agentId }, () => true).done).rejects.toThrow(
      `This token does not grant read_messages on agent ${s.acme.agentId}`,
    );
    const reader = browserTrpcClient(s.server.baseUrl, await tokenFor());
    await expect(watch(reader, { agentId: s.acme.otherAgentId }, () => true).done).rejects.toThrow(
      'does not grant read_messages',
    );
  });
});
