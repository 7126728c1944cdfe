import { refreshDelayMs } from '@scopekit/policy';
import { isUnauthorized, sessionApi } from './api';

export interface AgentToken {
  token: string;
  agentId: string;
}

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
  #current: AgentToken | undefined;
  #pending: Promise<AgentToken> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #listeners = new Set<(token: AgentToken) => void>();

  constructor(private readonly onSessionEnded: () => void) {}

  /** The current token, minting one first if there is none. */
  get(): Promise<AgentToken> {
    if (this.#current) return Promise.resolve(this.#current);
    return this.refresh();
  }

  /** Mints a new token; concurrent callers share one request. */
  refresh(): Promise<AgentToken> {
    if (this.#closed) return Promise.reject(new Error('Logged out'));
    this.#pending ??= this.#mint().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Called when a call with `token` was refused: drop it (unless already replaced) and re-mint. */
  rejected(token: string): Promise<AgentToken> {
    if (this.#current?.token === token) this.#current = undefined;
    return this.get();
  }

  /**
   * A call made with the current token; when it is refused with 401, the token is replaced
   * and the call is made once more with the new one.
   */
  async call<T>(call: (token: string) => Promise<T>): Promise<T> {
    const { token } = await this.get();
    try {
      return await call(token);
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
      return call((await this.rejected(token)).token);
    }
  }

  /**
   * `listener` hears of every newly minted token, so a long-lived stream can move to it
   * before the token it opened with expires. Returns the way to stop listening.
   */
  onToken(listener: (token: AgentToken) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close() {
    this.#closed = true;
    this.#current = undefined;
    this.#listeners.clear();
    clearTimeout(this.#timer);
  }

  async #mint(): Promise<AgentToken> {
    try {
      const minted = await sessionApi.session.token.mutate();
      if (this.#closed) throw new Error('Logged out');
      const current = { token: minted.token, agentId: minted.agentId };
      this.#current = current;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.refresh().catch(() => {});
      }, refreshDelayMs(minted.expiresIn));
      for (const listener of this.#listeners) listener(current);
      return current;
    } catch (error) {
      if (isUnauthorized(error)) {
        this.close();
        this.onSessionEnded();
      }
      throw error;
    }
  }
}
