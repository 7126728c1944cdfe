import { refreshDelayMs } from '@scopekit/policy';
import { isUnauthorized } from './api';

/** What the session hands out: a `ck-let-` token and its lifetime by the server's clock. */
export interface MintedToken {
  token: string;
  expiresIn: number;
}

/** A failed scheduled refresh is tried again after 1 s, 2 s, 4 s… at most this far apart. */
const RETRY_MAX_MS = 30_000;
const RETRY_FIRST_MS = 1000;

/**
 * Holds the browser's `ck-let-` token, one store for the whole signed-in app so that moving
 * between pages reuses the live token instead of minting another. It is minted from the
 * session, refreshed before it expires (timed from the server's `expiresIn`, never from this
 * machine's clock), and re-minted at once when a call is refused with 401 (after an admin
 * revoked it, say). Every mint is single-flight, so a 401 on one path cannot discard a token
 * another path has just obtained. When the session itself is gone, `onSessionEnded` fires and
 * nothing is minted again.
 */
export class AgentTokenStore {
  #current: string | undefined;
  /**
   * When the current token expires, by this machine's clock (measured from `expiresIn`). Not
   * `performance.now()`: outside Windows it stops while the machine sleeps, and a token's life
   * does not.
   */
  #expiresAt = 0;
  #pending: Promise<string> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #listeners = new Set<(token: string) => void>();

  constructor(
    private readonly mint: () => Promise<MintedToken>,
    private readonly onSessionEnded: () => void,
  ) {}

  /**
   * The current token, minting one first if there is none. One known to have expired (its
   * refreshes failed until then, or the machine slept through them) counts as none: handed
   * out, it could only be refused.
   */
  get(): Promise<string> {
    if (this.#current && Date.now() < this.#expiresAt) return Promise.resolve(this.#current);
    return this.refresh();
  }

  /** Mints a new token; concurrent callers share one request. */
  refresh(): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('Logged out'));
    this.#pending ??= this.#mint().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Called when a call with `token` was refused: drop it (unless already replaced) and re-mint. */
  rejected(token: string): Promise<string> {
    if (this.#current === token) this.#current = undefined;
    return this.get();
  }

  /**
   * A call made with the current token; when it is refused with 401, the token is replaced
   * and the call is made once more with the new one.
   */
  async call<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.get();
    try {
      return await call(token);
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
      return call(await this.rejected(token));
    }
  }

  /**
   * `listener` hears of every newly minted token, so a long-lived stream can move to it
   * before the token it opened with expires. Returns the way to stop listening.
   */
  onToken(listener: (token: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close() {
    this.#closed = true;
    this.#current = undefined;
    this.#listeners.clear();
    clearTimeout(this.#timer);
  }

  async #mint(): Promise<string> {
    try {
      const minted = await this.mint();
      if (this.#closed) throw new Error('Logged out');
      this.#current = minted.token;
      this.#expiresAt = Date.now() + Math.max(0, minted.expiresIn) * 1000;
      this.#scheduleRefresh(refreshDelayMs(minted.expiresIn), 0);
      for (const listener of this.#listeners) listener(minted.token);
      return minted.token;
    } catch (error) {
      // Closed meanwhile, the store has nothing to end: a log-out refuses the mint it raced,
      // and "your session has ended" must not replace its own message.
      if (isUnauthorized(error) && !this.#closed) {
        this.close();
        this.onSessionEnded();
      }
      throw error;
    }
  }

  /**
   * The refresh ahead of expiry. When it fails for any reason but the session's end (the
   * server unreachable for a moment, mints rate-limited), it is tried again, backing off,
   * for as long as the token in hand is still good; after that, the next call's 401 mints.
   */
  #scheduleRefresh(delayMs: number, failures: number) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.refresh().catch(() => {
        const left = this.#expiresAt - Date.now();
        if (this.#closed || left <= 0) return;
        const backoff = Math.min(RETRY_FIRST_MS * 2 ** failures, RETRY_MAX_MS);
        this.#scheduleRefresh(Math.min(backoff, left), failures + 1);
      });
    }, delayMs);
  }
}
