import { setTimeout as sleep } from 'node:timers/promises';
import { and, asc, eq, gt, max, min } from 'drizzle-orm';
import { messages, runs } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { parseInput } from '../lib/parse-input.js';
import { openConversationEvents, type TrackedEvent } from './conversation-events.js';
import { readMessagePage } from './message-page.js';
import type { MessageListInput } from './message-schemas.js';
import { messageListSchema } from './message-schemas.js';
import { type LettaMessage, toLettaMessage } from './message-view.js';
import { getRun, isFinished } from './runs.js';

/**
 * How often a stream following a run reads the run again: a turn that failed without a stop
 * reason (its agent deleted, the database gone) announces no stop, and only the run says so.
 */
export const RUN_CHECK_MS = 1_000;

export type RunChunk = LettaMessage | { message_type: 'stop_reason'; stop_reason: string };

/** What a run's stream shows: the agent's side of the turn, as its own stream did. */
const shown = (m: LettaMessage) =>
  m.message_type !== 'user_message' && m.message_type !== 'system_message';

/** A run's messages, a page at a time (`runs.messages.list`), oldest first by default. */
export async function listRunMessages(
  deps: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; runId: string } & MessageListInput,
): Promise<LettaMessage[]> {
  const { organizationId, runId, ...query } = args;
  const input = parseInput(messageListSchema, { order: 'asc', ...query });
  await getRun(deps, { organizationId, runId });
  return readMessagePage(deps.db, { where: eq(messages.runId, runId), name: 'this run' }, input);
}

/**
 * `runs.messages.stream`: the run's messages with a `seq_id` after `startingAfter`, whole
 * (the pieces of a reply streamed in tokens are not kept), then those it stores from now on,
 * then its stop reason. A client whose stream dropped resumes with the last `seq_id` it saw.
 */
export async function* followRun(
  deps: Pick<ServiceDeps, 'db' | 'bus'>,
  args: { organizationId: string; runId: string; startingAfter?: number; signal: AbortSignal },
): AsyncGenerator<RunChunk> {
  const { runId } = args;
  const run = await getRun(deps, args);
  // Where the replay starts: just before the run's first message, or, before it has any,
  // the agent's newest (every message the run stores later comes after it).
  const [first] = await deps.db
    .select({ seq: min(messages.seq) })
    .from(messages)
    .where(eq(messages.runId, runId));
  let floor = first?.seq == null ? null : Number(first.seq) - 1;
  if (floor === null) {
    const [newest] = await deps.db
      .select({ seq: max(messages.seq) })
      .from(messages)
      .where(eq(messages.agentId, run.agent_id));
    floor = Number(newest?.seq ?? 0);
  }
  let lastSeq = Math.max(args.startingAfter ?? 0, floor);

  /** The rest of a finished run, read from the database, and its stop reason. */
  async function* ending(stopReason: string | null): AsyncGenerator<RunChunk> {
    const rows = await deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.runId, runId), gt(messages.seq, lastSeq)))
      .orderBy(asc(messages.seq));
    for (const message of rows.map(toLettaMessage)) if (shown(message)) yield message;
    yield { message_type: 'stop_reason', stop_reason: stopReason ?? 'error' };
  }

  const readRun = async () => {
    const [row] = await deps.db
      .select({ status: runs.status, stopReason: runs.stopReason })
      .from(runs)
      .where(eq(runs.id, runId));
    return row;
  };

  const listening = new AbortController();
  const stop = () => listening.abort();
  args.signal.addEventListener('abort', stop, { once: true });
  let next: Promise<IteratorResult<TrackedEvent>> | undefined;
  try {
    const events = await openConversationEvents(deps, {
      agentId: run.agent_id,
      lastEventId: String(lastSeq),
      signal: listening.signal,
    });
    // Read once listening: a run that ends later announces it to this stream.
    const now = await readRun();
    if (!now || isFinished(now.status)) {
      yield* ending(now?.stopReason ?? null);
      return;
    }
    let check: Promise<'check' | undefined> | undefined;
    while (!listening.signal.aborted) {
      next ??= events.next();
      check ??= sleep(RUN_CHECK_MS, 'check' as const, { signal: listening.signal }).catch(
        () => undefined,
      );
      const result = await Promise.race([next, check]);
      if (result === undefined) return;
      if (result === 'check') {
        check = undefined;
        const row = await readRun();
        if (!row || isFinished(row.status)) {
          yield* ending(row?.stopReason ?? null);
          return;
        }
        continue;
      }
      next = undefined;
      if (result.done) return;
      const { event } = result.value;
      if (event.type === 'message' && event.message.run_id === runId) {
        lastSeq = event.message.seq_id;
        if (shown(event.message)) yield event.message;
      } else if (event.type === 'stop' && event.runId === runId) {
        yield { message_type: 'stop_reason', stop_reason: event.stopReason };
        return;
      }
    }
  } finally {
    args.signal.removeEventListener('abort', stop);
    listening.abort();
    // The live stream ends with the abort; what it answers then has no reader.
    next?.catch(() => {});
  }
}
