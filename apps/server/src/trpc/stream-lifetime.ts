import { TRPCError } from '@trpc/server';
import { watchCredential } from '../auth/credential-lifetime.js';
import type { Principal } from '../auth/principal.js';
import type { Context } from './context.js';

/**
 * A stream outlives the request that authorized it, so it must not outlive the credential:
 * it ends when the token expires, soon after it is revoked, or when the client goes away
 * (already gone included), and its timers and watcher go with it. `check()` turns an end
 * caused by the credential into a 401 the client acts on (refresh its token and subscribe
 * again).
 */
export function untilCredentialEnds(ctx: Context & { principal: Principal }, signal?: AbortSignal) {
  const credential = watchCredential(ctx.deps, ctx.principal, ctx);
  const controller = new AbortController();
  const end = () => controller.abort();
  const dispose = () => {
    signal?.removeEventListener('abort', end);
    credential.signal.removeEventListener('abort', end);
    credential.dispose();
  };
  // Ended, the stream may never be read (tRPC skips a stream whose client has left), so
  // nothing waits for its reader to let go.
  controller.signal.addEventListener('abort', dispose, { once: true });
  credential.signal.addEventListener('abort', end, { once: true });
  signal?.addEventListener('abort', end, { once: true });
  // A client gone while the stream was being opened aborted before anyone listened.
  if (signal?.aborted) end();
  return {
    signal: controller.signal,
    /** Throws the 401 if the credential ended the stream. */
    check() {
      const reason: unknown = credential.signal.reason;
      if (credential.signal.aborted && reason instanceof Error) {
        throw new TRPCError({ code: 'UNAUTHORIZED', message: reason.message });
      }
    },
    /** Lets go early, when the stream ends by itself or fails to open. */
    dispose,
  };
}
