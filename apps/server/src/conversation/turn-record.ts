import type { Database } from '../db/client.js';
import type { ServiceDeps } from '../deps.js';
import {
  type ConversationEvent,
  type MessageValues,
  publishConversationEvent,
  storeAndAnnounce,
} from './conversation-events.js';
import type { StopReason } from './message-view.js';
import { finishRun } from './runs.js';

type TurnValues = Omit<MessageValues, 'agentId' | 'runId'>;

/**
 * What one turn has stored and announced so far. Every message it stores is announced on the
 * live stream in the same transaction and shown to the turn's own caller (a REST stream);
 * deltas and the stop are placed after the last message stored.
 */
export class TurnRecord {
  /** The last stored message of the conversation, as far as this turn knows. */
  lastSeq = 0;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'db' | 'bus' | 'now'>,
    readonly agentId: string,
    readonly runId: string,
    private readonly onEvent?: (event: ConversationEvent) => void,
  ) {}

  /** `values` may be work done in the transaction first, as for storeAndAnnounce. */
  async store(values: TurnValues[] | ((tx: Database) => Promise<TurnValues[]>)) {
    const { agentId, runId } = this;
    const inRun = (list: TurnValues[]) => list.map((v) => ({ ...v, agentId, runId }));
    const stored = await storeAndAnnounce(
      this.deps,
      agentId,
      typeof values === 'function' ? async (tx) => inRun(await values(tx)) : inRun(values),
    );
    for (const message of stored) this.onEvent?.({ type: 'message', message });
    this.lastSeq = stored.at(-1)?.seq_id ?? this.lastSeq;
    return stored;
  }

  /** A piece of the reply still being produced; it is not stored. */
  async delta(messageId: string, index: number, text: string) {
    await this.#emit({
      type: 'delta',
      messageId,
      runId: this.runId,
      text,
      index,
      afterSeq: this.lastSeq,
    });
  }

  /** The run ends before its stop is announced: a reader that sees the stop finds it ended. */
  async stop(stopReason: StopReason, error?: string) {
    await finishRun(this.deps.db, this.runId, stopReason, this.deps.now());
    await this.#emit({
      type: 'stop',
      runId: this.runId,
      stopReason,
      afterSeq: this.lastSeq,
      ...(error && { error }),
    });
  }

  async #emit(event: ConversationEvent) {
    this.onEvent?.(event);
    await publishConversationEvent(this.deps.bus, this.agentId, event);
  }
}
