import { and, eq, inArray, max, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import { messages, runs } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import type { PublishWithin } from '../events/bus.js';
import { type ConversationEvent, conversationChannel } from './conversation-events.js';

/**
 * Turns whose instance died mid-turn (killed, or cut off from the database for good). You
 * probably don't need to edit this file.
 *
 * A turn's pieces reach live streams on every instance, but only the instance running it
 * ends it: one that died left its run `running` for ever and its listeners with half a reply
 * and no end. The turn lease on the agent's row (see TurnQueue) is what says it died: it is
 * renewed every few seconds while the turn runs and nothing else lets it run out. So a turn
 * whose lease ran out is ended here, once, for everyone: its run is `failed` with
 * `stop_reason: "error"`, and live streams get its stop with the reason. Found two ways: by
 * the instance that takes the agent over for its next send (before that send's turn starts,
 * so the old turn ends before the new one begins), and by a periodic check on every serving
 * instance, for an agent nobody sends to.
 */
export const ABANDONED_TURN_ERROR =
  'The instance running this turn stopped before the turn ended; what it had not stored is lost';

/** How often each serving instance looks for turns whose lease ran out. */
export const REAP_INTERVAL_MS = 5_000;

type Deps = Pick<ServiceDeps, 'db' | 'bus'>;

/**
 * Ends the agent's runs still `running`: called by the instance that just took the agent's
 * lease over from one whose lease ran out, so none of them is its own or anyone else's.
 */
export async function endAbandonedRuns(deps: Deps, agentId: string): Promise<number> {
  return deps.bus.transaction(deps.db, async (tx, publish) => {
    const ended = await tx
      .update(runs)
      .set({ status: 'failed', stopReason: 'error', completedAt: sql`now()` })
      .where(and(eq(runs.agentId, agentId), eq(runs.status, 'running')))
      .returning({ runId: runs.id, agentId: runs.agentId });
    await announce(tx, publish, ended);
    return ended.length;
  });
}

/**
 * Clears every lease that ran out and ends the runs it covered, in one statement: an
 * instance taking one of those agents waits on the row and then finds it free, so the runs
 * ended here can only be the dead instance's, never the new turn's.
 */
export async function reapAbandonedTurns(deps: Deps): Promise<number> {
  return deps.bus.transaction(deps.db, async (tx, publish) => {
    const result = await tx.execute(sql`
      with reaped as (
        update agents set turn_holder = null, turn_lease_until = null
        where turn_holder is not null and turn_lease_until < now()
        returning id
      )
      update runs set status = 'failed', stop_reason = 'error', completed_at = now()
      where agent_id in (select id from reaped) and status = 'running'
      returning id as "runId", agent_id as "agentId"`);
    const ended = rowsOf<{ runId: string; agentId: string }>(result);
    await announce(tx, publish, ended);
    return ended.length;
  });
}

async function announce(
  tx: Database,
  publish: PublishWithin,
  ended: { runId: string; agentId: string }[],
) {
  for (const { runId, agentId } of ended) {
    const [newest] = await tx
      .select({ seq: max(messages.seq) })
      .from(messages)
      .where(eq(messages.agentId, agentId));
    const stop: ConversationEvent = {
      type: 'stop',
      runId,
      stopReason: 'error',
      error: ABANDONED_TURN_ERROR,
      afterSeq: Number(newest?.seq ?? 0),
    };
    await publish(conversationChannel(agentId), [stop]);
  }
}

/**
 * Embedded PGlite at start: only one process may open it (see pglite-lock.ts), so a run not
 * ended, running or still queued, was the previous process's, killed before it could end
 * it. Nobody is listening yet: the run alone is ended.
 */
export async function endRunsOfPreviousProcess(db: Database): Promise<number> {
  const ended = await db
    .update(runs)
    .set({ status: 'failed', stopReason: 'error', completedAt: sql`now()` })
    .where(inArray(runs.status, ['created', 'running']))
    .returning({ id: runs.id });
  return ended.length;
}

/**
 * Runs `reapAbandonedTurns` every `intervalMs` until stopped; a slow run skips the next. A
 * failure is reported once, not every few seconds of a database outage, until a run works.
 */
export class AbandonedTurnReaper {
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #failing = false;

  constructor(deps: Deps, options: { intervalMs?: number; onError: (error: unknown) => void }) {
    this.#timer = setInterval(() => {
      this.#running ??= reapAbandonedTurns(deps)
        .then(
          () => {
            this.#failing = false;
          },
          (error: unknown) => {
            if (!this.#failing) options.onError(error);
            this.#failing = true;
          },
        )
        .finally(() => {
          this.#running = undefined;
        });
    }, options.intervalMs ?? REAP_INTERVAL_MS);
    this.#timer.unref();
  }

  async stop() {
    clearInterval(this.#timer);
    await this.#running;
  }
}
