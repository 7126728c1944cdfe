import { refreshDelayMs } from '@scopekit/policy';
import { isUnauthorized, sessionApi } from './api';

export interface AgentToken {
  token: string;
  agentId: string;
}

/**
 * Holds the browser's `ck-let-` token. It is minted from the session, refreshed before it
 * expires (timed from the server's `expiresIn`, never from this machine's clock), and
 * re-minted at once when a call is refused with 401 (after an admin revoked it, say).
 * When the session itself is gone, `onSessionEnded` fires and nothing is minted again.
 */
export class AgentTokenStore {
  #current: AgentToken | undefined;
  #pending: Promise<AgentToken> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

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

  close() {
    this.#closed = true;
    this.#current = undefined;
    clearTimeout(this.#timer);
  }

  async #mint(): Promise<AgentToken> {
    try {
      const minted = await sessionApi.session.token.mutate();
      if (this.#closed) throw new Error('Logged out');
      this.#current = { token: minted.token, agentId: minted.agentId };
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.refresh().catch(() => {});
      }, refreshDelayMs(minted.expiresIn));
      return this.#current;
    } catch (error) {
      if (isUnauthorized(error)) {
        this.close();
        this.onSessionEnded();
      }
      throw error;
    }
  }
}
