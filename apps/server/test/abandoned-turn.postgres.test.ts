import { eq } from 'drizzle-orm';
import { afterEach, expect, it } from 'vitest';
import { ABANDONED_TURN_ERROR, AbandonedTurnReaper } from '../src/conversation/abandoned-turns.js';
import {
  type ConversationEvent,
  openConversationEvents,
} from '../src/conversation/conversation-events.js';
import { sendMessages } from '../src/conversation/messages.js';
import { TurnQueue } from '../src/conversation/turn-queue.js';
import { openDatabase } from '../src/db/client.js';
import { runs } from '../src/db/schema.js';
import type { EventBus } from '../src/events/bus.js';
import { openBus } from '../src/events/open-bus.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { useSuite } from './support/suite.js';

// Instance A runs a turn and dies in the middle of it; a live stream on instance B has seen
// the start of A's reply. B's stream must hear that turn end, and its run must not stay
// `running`, whether or not anyone sends to the agent again.
const s = useSuite();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A live stream on B, collecting what it delivers. */
async function listenOnB() {
  const stop = new AbortController();
  const events: ConversationEvent[] = [];
  const stream = await openConversationEvents(s.deps, {
    agentId: s.acme.agentId,
    signal: stop.signal,
  });
  const reading = (async () => {
    for await (const { event } of stream) events.push(event);
  })();
  cleanups.push(async () => {
    stop.abort();
    await reading;
  });
  return events;
}

/** Waits for `found`, within a bound so that a missing event fails rather than hangs. */
async function waitFor<T>(found: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const bound = Date.now() + 20_000;
  for (;;) {
    const value = await found();
    if (value !== undefined || Date.now() > bound) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Instance A, on a pool and bus of its own, with a short lease: it starts a turn, then dies. */
async function turnOnADies(events: ConversationEvent[]) {
  const pool = await openDatabase({ url: s.database.url, dataDir: '' });
  const bus = openBus(pool);
  const runtime = new ScriptedRuntime({ opening: ['half a '], pieces: ['reply'], gated: true });
  const dying = sendMessages(
    {
      ...s.deps,
      db: pool.db,
      bus,
      agentRuntime: runtime,
      turns: new TurnQueue(pool.db, { leaseMs: 1_000, renewMs: 250 }),
    },
    {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'asked of A' }],
    },
  ).catch((error: unknown) => error);
  const delta = await waitFor(() => events.find((e) => e.type === 'delta'));
  expect(delta).toMatchObject({ type: 'delta', text: 'half a ' });
  // A's process is gone: its connections close, its lease is never renewed or released.
  await bus.close();
  await pool.close();
  cleanups.push(async () => {
    runtime.release();
    await dying;
  });
  return (delta as Extract<ConversationEvent, { type: 'delta' }>).runId;
}

async function expectEnded(events: ConversationEvent[], runId: string) {
  const stop = await waitFor(() => events.find((e) => e.type === 'stop' && e.runId === runId));
  expect(stop).toMatchObject({
    type: 'stop',
    runId,
    stopReason: 'error',
    error: ABANDONED_TURN_ERROR,
  });
  const [run] = await s.database.db.select().from(runs).where(eq(runs.id, runId));
  expect(run).toMatchObject({ status: 'failed', stopReason: 'error' });
  expect(run?.completedAt).not.toBeNull();
}

it("ends a dead instance's turn for B's listeners once its lease runs out, with no send needed", async () => {
  const events = await listenOnB();
  const reaper = new AbandonedTurnReaper(s.deps, {
    intervalMs: 100,
    onError: (error) => {
      throw error;
    },
  });
  cleanups.push(() => reaper.stop());
  const runId = await turnOnADies(events);
  await expectEnded(events, runId);
});

it("ends a dead instance's turn before the next send's turn starts on B", async () => {
  const events = await listenOnB();
  const runId = await turnOnADies(events);
  await sendMessages(
    { ...s.deps, turns: new TurnQueue(s.database.db) },
    {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      messages: [{ role: 'user', content: 'asked of B' }],
    },
  );
  await expectEnded(events, runId);
  const stopAt = events.findIndex((e) => e.type === 'stop' && e.runId === runId);
  const askedOfB = events.findIndex(
    (e) =>
      e.type === 'message' &&
      e.message.message_type === 'user_message' &&
      e.message.content === 'asked of B',
  );
  expect(stopAt).toBeLessThan(askedOfB);
});

it('reports a failing check once, not at every attempt while the database is gone', async () => {
  const gone = await openDatabase({ url: s.database.url, dataDir: '' });
  await gone.close();
  let attempts = 0;
  const bus: EventBus = Object.assign(Object.create(s.deps.bus) as EventBus, {
    transaction: (...args: Parameters<EventBus['transaction']>) => {
      attempts += 1;
      return s.deps.bus.transaction(...args);
    },
  });
  const errors: unknown[] = [];
  const reaper = new AbandonedTurnReaper(
    { db: gone.db, bus },
    { intervalMs: 10, onError: (error) => errors.push(error) },
  );
  cleanups.push(() => reaper.stop());
  await waitFor(() => (attempts >= 4 ? true : undefined));
  expect(attempts).toBeGreaterThanOrEqual(4);
  expect(errors).toHaveLength(1);
});
