import type { ServiceDeps } from '../deps.js';
import { AppError, unauthorized } from '../errors.js';
import type { Principal } from './principal.js';
import { type BearerRequest, credentialHash, verifyBearer } from './verify-bearer.js';

/** How often long-lived work re-checks that its credential still stands. */
const RECHECK_MS = 10_000;

/**
 * Clears an unref'd timer without leaving Node's timer list for its duration behind: Node
 * deletes an emptied list only for a ref'd timer (unref'd ones are assumed to be HTTP's,
 * recreated soon with the same duration). An expiry timer's duration is the token's time
 * left, different for every stream, so each would leave a list until its token expired.
 */
function clearUnrefTimer(timer: NodeJS.Timeout | undefined) {
  timer?.ref();
  clearTimeout(timer);
}

/**
 * Work that outlives the request that authorized it (a live stream, a queued or streamed
 * turn) must not outlive the credential. The returned signal aborts, with a 401 `AppError`
 * as its reason, when the token expires, or soon after the credential is revoked on any
 * instance (the token cache hears it; a re-check every 10 s covers a lost notice). Its
 * timers and watcher go when it aborts or on `dispose()`. With `until`, it also aborts when
 * that does, with that signal's reason (not an `AppError`): one signal for a live stream's
 * whole lifetime rather than one per cause, which thousands of open streams each hold.
 */
export function watchCredential(
  deps: Pick<ServiceDeps, 'db' | 'now' | 'tokenCache' | 'lastUsed' | 'clientTokenOrigin'>,
  principal: Principal,
  request: BearerRequest,
  until?: AbortSignal,
) {
  const controller = new AbortController();
  const end = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const endWithUntil = () => end(until?.reason);
  let expiry: NodeJS.Timeout | undefined;
  if (principal.kind === 'clientToken') {
    const remaining = principal.expiresAt.getTime() - deps.now().getTime();
    // setTimeout holds at most ~24.8 days; tokens live minutes.
    expiry = setTimeout(
      () => end(unauthorized('The token has expired')),
      Math.min(Math.max(remaining, 0), 2 ** 31 - 1),
    );
    expiry.unref();
  }
  const check = () => {
    verifyBearer(deps, request).catch((error) => {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') end(error);
    });
  };
  const recheck = setInterval(check, RECHECK_MS);
  recheck.unref();
  // A revocation on any instance evicts the credential here: check at once, not in 10 s.
  const hash = credentialHash(request.authorization);
  const unwatch = hash ? deps.tokenCache.watch(hash, check) : () => {};
  const dispose = () => {
    clearUnrefTimer(expiry);
    expiry = undefined;
    clearInterval(recheck);
    unwatch();
    until?.removeEventListener('abort', endWithUntil);
  };
  controller.signal.addEventListener('abort', dispose, { once: true });
  until?.addEventListener('abort', endWithUntil, { once: true });
  if (until?.aborted) endWithUntil();
  return { signal: controller.signal, dispose };
}
