import { AgentRuntimeError, type RuntimePart } from '../agent-runtime/runtime.js';
import { durationText } from './duration-text.js';

export interface TurnTimeouts {
  /** Longest quiet spell before the runtime's next part (the first one included). */
  idleMs: number;
  /** Longest a whole turn may take, from `startedAt` (a `Date.now()` instant). */
  totalMs: number;
  startedAt: number;
}

/**
 * The runtime's next part, or an AgentRuntimeError when it takes too long. A model can
 * answer its headers at once and then stop sending (the HTTP client's own timeout covers only
 * the headers), and a turn holds its agent, and the agent's lease across instances, until it
 * ends. On a timeout `stop` is aborted, so the runtime gives up its request.
 */
export async function nextPartWithin(
  parts: AsyncIterator<RuntimePart>,
  { idleMs, totalMs, startedAt }: TurnTimeouts,
  stop: AbortController,
): Promise<IteratorResult<RuntimePart>> {
  const remaining = startedAt + totalMs - Date.now();
  const overall = remaining <= idleMs;
  const next = parts.next();
  let timer: NodeJS.Timeout | undefined;
  let timeout: AgentRuntimeError | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        timeout = new AgentRuntimeError(
          overall
            ? `The model did not finish its reply within ${durationText(totalMs)}; the turn was stopped`
            : `The model sent nothing for ${durationText(idleMs)}; the turn was stopped`,
        );
        reject(timeout);
      },
      Math.max(0, overall ? remaining : idleMs),
    );
  });
  try {
    return await Promise.race([next, timedOut]);
  } catch (error) {
    if (timeout && error === timeout) {
      stop.abort(timeout);
      // The abandoned call settles later (or never); its outcome is no longer anyone's.
      next.catch(() => {});
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
