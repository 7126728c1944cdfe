import { TRPCError } from '@trpc/server';
import { watchCredential } from '../auth/credential-lifetime.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { Context } from './context.js';

/**
 * A stream outlives the request that authorized it, so it must not outlive the credential:
 * it ends when the token expires, soon after it is revoked, or when the client goes away
 * (already gone included), and its timers and watcher go with it. `check()` turns an end
 * caused by the credential into a 401 the client acts on (refresh its token and subscribe
 * again).
 */
export function untilCredentialEnds(ctx: Context & { principal: Principal }, signal?: AbortSignal) {
  // One signal for both causes; an end caused by the credential carries its 401 `AppError`.
  // Ended, the stream may never be read (tRPC skips a stream whose client has left), so
  // nothing waits for its reader to let go: the watcher's timers go when it aborts.
  const credential = watchCredential(ctx.deps, ctx.principal, ctx, signal);
  return {
    signal: credential.signal,
    /** Throws the 401 if the credential ended the stream. */
    check() {
      const reason: unknown = credential.signal.reason;
      if (credential.signal.aborted && reason instanceof AppError) {
        throw new TRPCError({ code: 'UNAUTHORIZED', message: reason.message });
      }
    },
    /** Lets go early, when the stream ends by itself or fails to open. */
    dispose: credential.dispose,
  };
}
