import { Mutex, type MutexInterface } from 'async-mutex';
import type { Database } from '../db/client.js';
import { AppError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { busy, LEASE_MS, RENEW_MS, TurnLeases, type TurnStart } from './turn-lease.js';

export interface TurnTiming {
  leaseMs: number;
  renewMs: number;
  /** How long a send waits for the agent, behind this instance's turns and others' in all. */
  maxWaitMs: number;
}
/** What a send brings to the queue besides its turn. */
export interface TurnOptions {
  /**
   * Aborts when nobody will hear the answer (the client went away): a send still waiting is
   * given up, so a client's retry is not stored twice. A turn already running goes on.
   */
  waiting?: AbortSignal | undefined;
  /**
   * Aborts when the send may no longer run at all (its credential was revoked): a send still
   * waiting is dropped, a running turn is stopped through its signal; either fails with the
   * signal's reason.
   */
  stop?: AbortSignal | undefined;
  /** Waits no longer than this (and never longer than the queue's own maximum). */
  maxWaitMs?: number | undefined;
  /** Names the turn for cancel(). */
  runId?: string | undefined;
}

/** How long a send waits in all. */
const MAX_WAIT_MS = 120_000;

const givenUp = () =>
  new AppError(
    'CONFLICT',
    'The send was given up: its client went away while it waited for the agent; nothing was stored',
    undefined,
    { shouldRetry: false },
  );

/** Why a turn's signal aborts when a client cancels it: the turn then ends as `cancelled`. */
export class TurnCancelled extends Error {
  override readonly name = 'TurnCancelled';
}

/** The bus channel on which a cancel reaches the instance running the turn. */
const CANCEL_CHANNEL = 'turn-cancel';
interface CancelNotice {
  agentId: string;
  runIds?: string[] | undefined;
}

/**
 * One turn at a time per agent: a second send waits for the first to finish, so replies
 * never interleave and each turn sees the whole conversation before it. Within an instance
 * a mutex per agent queues them. Across instances (PostgreSQL) the instance also takes a
 * lease on the agent's row (turn-lease.ts). A turn that loses its lease (renewals failed
 * until it ran out, or another instance took the agent over) is told through its signal, so
 * it stops before storing a reply that could interleave with the new holder's turn.
 */
export class TurnQueue {
  readonly #locks = new Map<string, { mutex: Mutex; users: number }>();
  /** The turn running on this instance for each agent, and how to cancel it. */
  readonly #running = new Map<string, { runId: string; cancel: AbortController }>();
  /** Sends waiting for their agent on this instance, by run id, and how to drop them. */
  readonly #queued = new Map<string, { agentId: string; drop: AbortController }>();
  readonly #leases: TurnLeases | undefined;
  private readonly timing: TurnTiming;

  /** `db` when other instances may share the database; omitted for embedded PGlite. */
  constructor(db?: Database, timing: Partial<TurnTiming> = {}) {
    this.timing = { leaseMs: LEASE_MS, renewMs: RENEW_MS, maxWaitMs: MAX_WAIT_MS, ...timing };
    this.#leases = db ? new TurnLeases(db, this.timing) : undefined;
  }

  /**
   * Runs `turn` when it is the agent's; its signal aborts if the turn stops being so, or
   * when `stop` aborts.
   * `runId` names the turn for cancel().
   */
  async run<T>(
    agentId: string,
    turn: (signal: AbortSignal, start: TurnStart) => Promise<T>,
    { waiting, stop, maxWaitMs = this.timing.maxWaitMs, runId = '' }: TurnOptions = {},
  ): Promise<T> {
    if (waiting?.aborted) throw givenUp();
    stop?.throwIfAborted();
    let entry = this.#locks.get(agentId);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.#locks.set(agentId, entry);
    }
    entry.users += 1;
    const current = entry;
    const waitMs = Math.min(maxWaitMs, this.timing.maxWaitMs);
    const deadline = Date.now() + waitMs;
    // Given up or dropped: either ends the wait, with its own error.
    const gone = new AbortController();
    const onWaitingAbort = () => gone.abort(givenUp());
    const onStop = () => gone.abort(stop?.reason);
    waiting?.addEventListener('abort', onWaitingAbort, { once: true });
    stop?.addEventListener('abort', onStop, { once: true });
    // A cancel naming this run while it waits drops it (see cancelQueued).
    const drop = new AbortController();
    const onDrop = () => gone.abort(drop.signal.reason);
    drop.signal.addEventListener('abort', onDrop, { once: true });
    if (runId) this.#queued.set(runId, { agentId, drop });
    try {
      // A send waits no longer behind this instance's turns than behind another's.
      const release = await this.#local(current.mutex, deadline, waitMs, gone.signal);
      const cancel = new AbortController();
      this.#running.set(agentId, { runId, cancel });
      try {
        return await this.#acrossInstances(
          agentId,
          (signal, start) => {
            // Started: from now on a cancel stops the turn instead.
            this.#queued.delete(runId);
            drop.signal.removeEventListener('abort', onDrop);
            return turn(AbortSignal.any([signal, cancel.signal]), start);
          },
          { deadline, waitMs, gone: gone.signal, stop },
        );
      } finally {
        this.#running.delete(agentId);
        release();
      }
    } finally {
      if (runId) this.#queued.delete(runId);
      drop.signal.removeEventListener('abort', onDrop);
      waiting?.removeEventListener('abort', onWaitingAbort);
      stop?.removeEventListener('abort', onStop);
      current.users -= 1;
      // Forget idle agents, so the map holds only agents with a turn running or waiting.
      if (current.users === 0) this.#locks.delete(agentId);
    }
  }

  /**
   * Cancels the agent's turn if this instance runs it (and it is one of `runIds`, when given).
   * Returns the run cancelled, if any.
   */
  cancel(agentId: string, runIds?: string[]): string | undefined {
    const running = this.#running.get(agentId);
    if (!running || (runIds && !runIds.includes(running.runId))) return undefined;
    running.cancel.abort(new TurnCancelled(`The turn ${running.runId} was cancelled`));
    return running.runId;
  }

  /**
   * Drops the agent's sends named in `runIds` that still wait on this instance: each fails
   * with TurnCancelled, nothing stored. Returns the runs dropped.
   */
  cancelQueued(agentId: string, runIds: string[]): string[] {
    const dropped: string[] = [];
    for (const runId of runIds) {
      const queued = this.#queued.get(runId);
      if (queued?.agentId !== agentId) continue;
      queued.drop.abort(new TurnCancelled(`The run ${runId} was cancelled before it started`));
      this.#queued.delete(runId);
      dropped.push(runId);
    }
    return dropped;
  }

  /** Cancels on every instance: the one running the turn (this one or another) stops it. */
  async cancelEverywhere(bus: EventBus, notice: CancelNotice): Promise<string | undefined> {
    const here = this.cancel(notice.agentId, notice.runIds);
    await bus.publish(CANCEL_CHANNEL, notice);
    return here;
  }

  /** Hears other instances' cancels; a server listens, a CLI need not. */
  listen(bus: EventBus): Promise<() => Promise<void>> {
    return bus.subscribe(CANCEL_CHANNEL, (payload) => {
      const { agentId, runIds } = payload as CancelNotice;
      this.cancel(agentId, runIds);
      if (runIds) this.cancelQueued(agentId, runIds);
    });
  }

  /** This instance's mutex for the agent, unless the deadline passes or `gone` aborts first. */
  #local(
    mutex: Mutex,
    deadline: number,
    waitMs: number,
    gone: AbortSignal,
  ): Promise<MutexInterface.Releaser> {
    return new Promise((resolve, reject) => {
      let given = false;
      const giveUp = (reason: unknown) => {
        given = true;
        clearTimeout(timer);
        gone.removeEventListener('abort', onAbort);
        reject(reason);
      };
      const timer = setTimeout(() => giveUp(busy(waitMs)), deadline - Date.now());
      const onAbort = () => giveUp(gone.reason);
      gone.addEventListener('abort', onAbort, { once: true });
      if (gone.aborted) onAbort();
      void mutex.acquire().then((release) => {
        // A wait given up keeps its place in the queue; its turn comes and passes at once.
        if (given) return release();
        clearTimeout(timer);
        gone.removeEventListener('abort', onAbort);
        resolve(release);
      });
    });
  }

  async #acrossInstances<T>(
    agentId: string,
    turn: (signal: AbortSignal, start: TurnStart) => Promise<T>,
    wait: { deadline: number; waitMs: number; gone: AbortSignal; stop: AbortSignal | undefined },
  ): Promise<T> {
    const { gone, stop } = wait;
    const lease = new AbortController();
    const onStop = () => lease.abort(stop?.reason);
    stop?.addEventListener('abort', onStop, { once: true });
    try {
      gone.throwIfAborted();
      // One instance needs no lease: the mutex alone keeps the turn, and nothing takes it away.
      if (!this.#leases) return await turn(lease.signal, { tookOver: false });
      return await this.#leases.hold(agentId, turn, lease, wait);
    } finally {
      stop?.removeEventListener('abort', onStop);
    }
  }
}
