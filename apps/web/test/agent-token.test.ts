import { refreshDelayMs } from '@scopekit/policy';
import { TRPCClientError } from '@trpc/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentTokenStore, type MintedToken } from '../src/lib/agent-token';

/** The error tRPC's client raises for a 401 answer. */
const unauthorized = () =>
  TRPCClientError.from({
    error: {
      code: -32001,
      message: 'The token was revoked',
      data: { code: 'UNAUTHORIZED', httpStatus: 401 },
    },
  });

/**
 * Stands in for `session.token`: hands out ck-let-1, ck-let-2… with `expiresIn`, or fails
 * with what `failWith` returns while it returns something. `release()` lets a mint held by
 * `hold` finish, so a test can look while one is in flight.
 */
function mintSource(expiresIn = 30) {
  const source = {
    calls: 0,
    failWith: (): unknown => undefined,
    hold: false,
    waiting: [] as (() => void)[],
    release() {
      for (const resume of source.waiting.splice(0)) resume();
    },
    async mint(): Promise<MintedToken> {
      const n = ++source.calls;
      if (source.hold) await new Promise<void>((resume) => source.waiting.push(resume));
      const failure = source.failWith();
      if (failure) throw failure;
      return { token: `ck-let-${n}`, expiresIn };
    },
  };
  return source;
}

function storeOver(source: ReturnType<typeof mintSource>) {
  const ended = { count: 0 };
  const store = new AgentTokenStore(
    () => source.mint(),
    () => ended.count++,
  );
  return { store, ended };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AgentTokenStore', () => {
  it('mints once for callers that ask at the same time, and keeps the token for later ones', async () => {
    const source = mintSource();
    source.hold = true;
    const { store } = storeOver(source);
    const asked = [store.get(), store.get(), store.refresh()];
    await vi.waitFor(() => expect(source.waiting).toHaveLength(1));
    source.release();
    expect(await Promise.all(asked)).toEqual(['ck-let-1', 'ck-let-1', 'ck-let-1']);
    expect(await store.get()).toBe('ck-let-1');
    expect(source.calls).toBe(1);
    store.close();
  });

  it('refreshes at the delay expiresIn calls for, and tells listeners of the new token', async () => {
    const source = mintSource(30);
    const { store } = storeOver(source);
    const heard: string[] = [];
    store.onToken((token) => heard.push(token));
    await store.get();
    const delay = refreshDelayMs(30);
    expect(delay).toBe(24_000);

    await vi.advanceTimersByTimeAsync(delay - 1);
    expect(source.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toBe(2);
    expect(heard).toEqual(['ck-let-1', 'ck-let-2']);
    expect(await store.get()).toBe('ck-let-2');
    // The next refresh is timed from the new token's expiresIn.
    await vi.advanceTimersByTimeAsync(delay);
    expect(source.calls).toBe(3);
    store.close();
  });

  it('makes a call refused with 401 once more with a freshly minted token', async () => {
    const source = mintSource();
    const { store, ended } = storeOver(source);
    const used: string[] = [];
    const answer = await store.call(async (token) => {
      used.push(token);
      if (token === 'ck-let-1') throw unauthorized();
      return `answered with ${token}`;
    });
    expect(answer).toBe('answered with ck-let-2');
    expect(used).toEqual(['ck-let-1', 'ck-let-2']);
    expect(ended.count).toBe(0);
    store.close();
  });

  it('passes on any other failure of a call without minting', async () => {
    const source = mintSource();
    const { store } = storeOver(source);
    await expect(
      store.call(async () => {
        throw new Error('Too many requests');
      }),
    ).rejects.toThrow('Too many requests');
    expect(source.calls).toBe(1);
    store.close();
  });

  it('keeps a token another call has just minted when an older one is refused', async () => {
    const source = mintSource();
    const { store } = storeOver(source);
    const first = await store.get();
    const second = await store.rejected(first);
    expect(second).toBe('ck-let-2');
    // A late 401 for the first token must not throw the second away.
    expect(await store.rejected(first)).toBe('ck-let-2');
    expect(source.calls).toBe(2);
    store.close();
  });

  it('mints nothing after close(), and leaves no timer behind', async () => {
    const source = mintSource();
    const { store } = storeOver(source);
    await store.get();
    expect(vi.getTimerCount()).toBe(1);
    store.close();
    expect(vi.getTimerCount()).toBe(0);
    await expect(store.get()).rejects.toThrow('Logged out');
    await expect(store.call(async (token) => token)).rejects.toThrow('Logged out');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(source.calls).toBe(1);
  });

  it('drops a token minted while it was closing', async () => {
    const source = mintSource();
    source.hold = true;
    const { store } = storeOver(source);
    const heard: string[] = [];
    store.onToken((token) => heard.push(token));
    const asked = store.get();
    await vi.waitFor(() => expect(source.waiting).toHaveLength(1));
    store.close();
    source.release();
    await expect(asked).rejects.toThrow('Logged out');
    expect(heard).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves the ending to a log-out that closed it while a mint it refuses was in flight', async () => {
    const source = mintSource();
    source.hold = true;
    const { store, ended } = storeOver(source);
    const asked = store.get();
    await vi.waitFor(() => expect(source.waiting).toHaveLength(1));
    // The log-out ends the session on the server, so the mint in flight comes back 401.
    store.close();
    source.failWith = unauthorized;
    source.release();
    await expect(asked).rejects.toThrow('The token was revoked');
    // The log-out says so itself: "your session has ended" would replace its message.
    expect(ended.count).toBe(0);
  });

  it('ends the session when minting is refused with 401, and mints no more', async () => {
    const source = mintSource();
    const { store, ended } = storeOver(source);
    await store.get();
    source.failWith = unauthorized;
    await vi.advanceTimersByTimeAsync(refreshDelayMs(30));
    expect(source.calls).toBe(2);
    expect(ended.count).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    await expect(store.get()).rejects.toThrow('Logged out');
    expect(source.calls).toBe(2);
  });

  it('tries a failed scheduled refresh again, backing off, until one succeeds', async () => {
    const source = mintSource(30);
    const { store, ended } = storeOver(source);
    const heard: string[] = [];
    store.onToken((token) => heard.push(token));
    await store.get();
    source.failWith = () => new TypeError('Failed to fetch');

    await vi.advanceTimersByTimeAsync(refreshDelayMs(30));
    expect(source.calls).toBe(2);
    // Again after 1 s, then 2 s later.
    await vi.advanceTimersByTimeAsync(999);
    expect(source.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toBe(3);
    await vi.advanceTimersByTimeAsync(1999);
    expect(source.calls).toBe(3);
    source.failWith = () => undefined;
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toBe(4);
    expect(heard).toEqual(['ck-let-1', 'ck-let-4']);
    expect(await store.get()).toBe('ck-let-4');
    expect(ended.count).toBe(0);
    // Back on the ordinary schedule: the next refresh is the new token's, not a retry.
    await vi.advanceTimersByTimeAsync(refreshDelayMs(30) - 1);
    expect(source.calls).toBe(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toBe(5);
    store.close();
  });

  it('stops retrying once the token in hand has expired', async () => {
    const source = mintSource(30);
    const { store } = storeOver(source);
    await store.get();
    source.failWith = () => new TypeError('Failed to fetch');
    // Refresh at 24 s, then retries at 25, 27, and the last one when the token expires at 30 s.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(source.calls).toBe(5);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(source.calls).toBe(5);
    // The next call that needs a token still gets one: the store did not give up on the session.
    source.failWith = () => undefined;
    expect(await store.rejected('ck-let-1')).toBe('ck-let-6');
    store.close();
  });

  it('mints instead of handing out a token it knows has expired', async () => {
    const source = mintSource(30);
    const { store } = storeOver(source);
    expect(await store.get()).toBe('ck-let-1');
    source.failWith = () => new TypeError('Failed to fetch');
    // Every refresh fails until the token expires at 30 s, and the retries stop there.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(source.calls).toBe(5);
    source.failWith = () => undefined;
    expect(await store.get()).toBe('ck-let-6');
    store.close();
  });

  it('mints instead of handing out a token that expired while the machine slept', async () => {
    const source = mintSource(30);
    const { store } = storeOver(source);
    await store.get();
    // Asleep for an hour: the clock moves on, the refresh timer (like performance.now() in
    // browsers outside Windows) does not.
    vi.setSystemTime(Date.now() + 3_600_000);
    expect(source.calls).toBe(1);
    expect(await store.get()).toBe('ck-let-2');
    store.close();
  });
});
