import { TRPCError } from '@trpc/server';
import type { Principal } from '../auth/principal.js';
import { credentialHash, verifyBearer } from '../auth/verify-bearer.js';
import { AppError } from '../errors.js';
import type { Context } from './context.js';

/** How often a long-lived stream re-checks that its credential still stands. */
const RECHECK_MS = 10_000;

/**
 * A stream outlives the request that authorized it, so it must not outlive the credential:
 * it ends when the token expires, soon after it is revoked, or when the client goes away
 * (already gone included), and its timers and watcher go with it. `check()` turns an end caused by the credential into a 401 the client acts on (refresh its
 * token and subscribe again).
 */
export function untilCredentialEnds(ctx: Context & { principal: Principal }, signal?: AbortSignal) {
  const controller = new AbortController();
  let reason: string | undefined;
  const end = (why?: string) => {
    reason ??= why;
    controller.abort();
  };
  const onClientGone = () => end();
  let expiry: NodeJS.Timeout | undefined;
  if (ctx.principal.kind === 'clientToken') {
    const remaining = ctx.principal.expiresAt.getTime() - ctx.deps.now().getTime();
    // setTimeout holds at most ~24.8 days; tokens live minutes.
    expiry = setTimeout(
      () => end('The token has expired'),
      Math.min(Math.max(remaining, 0), 2 ** 31 - 1),
    );
    expiry.unref();
  }
  const check = () => {
    verifyBearer(ctx.deps, { authorization: ctx.authorization, origin: ctx.origin }).catch(
      (error) => {
        if (error instanceof AppError && error.code === 'UNAUTHORIZED') end(error.message);
      },
    );
  };
  const recheck = setInterval(check, RECHECK_MS);
  // A revocation on any instance evicts the credential here: check at once, not in 10 s.
  const hash = credentialHash(ctx.authorization);
  const unwatch = hash ? ctx.deps.tokenCache.watch(hash, check) : () => {};
  recheck.unref();
  const dispose = () => {
    signal?.removeEventListener('abort', onClientGone);
    clearTimeout(expiry);
    clearInterval(recheck);
    unwatch();
  };
  // Ended, the stream may never be read (tRPC skips a stream whose client has left), so
  // nothing waits for its reader to let go.
  controller.signal.addEventListener('abort', dispose, { once: true });
  signal?.addEventListener('abort', onClientGone, { once: true });
  // A client gone while the stream was being opened aborted before anyone listened.
  if (signal?.aborted) end();
  return {
    signal: controller.signal,
    /** Throws the 401 if the credential ended the stream. */
    check() {
      if (reason) throw new TRPCError({ code: 'UNAUTHORIZED', message: reason });
    },
    /** Lets go early, when the stream ends by itself or fails to open. */
    dispose,
  };
}
