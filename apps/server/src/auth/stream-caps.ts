import { RetryLaterError } from '../errors.js';
import type { Principal } from './principal.js';
import { addressKey } from './rate-limit.js';

/** How many live event streams one holder may keep open on this instance, and all together. */
export interface StreamCapLimits {
  streamsPerToken: number;
  streamsPerUser: number;
  streamsPerAddress: number;
  streamsPerInstance: number;
}

/** Streams end when their client leaves; a refused one is worth trying again soon after. */
export const STREAM_RETRY_AFTER_SECONDS = 10;

/** Who a stream is held by: a client token, the web user whose session minted it, an address. */
export interface StreamHolder {
  principal: Principal;
  userId: string | null;
  clientAddress: string | undefined;
}

/**
 * Open live event streams (`messages.events`), counted per client token, per web user and
 * per client address (an IPv6 /64), and in all: each costs a connection and its buffers for
 * as long as the client keeps it, which per-minute request limits never see. Counts are this
 * instance's own; an API key (a backend's secret) is held to the instance's cap only.
 */
export class LiveStreamCaps {
  readonly #counts = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: StreamCapLimits) {}

  /** Streams open on this instance. */
  get open(): number {
    return this.#total;
  }

  /** Counts a stream in, or throws the refusal of the first cap it would pass; returns its release. */
  acquire(holder: StreamHolder): () => void {
    const keys = this.#keysOf(holder);
    for (const [key, limit, refusal] of keys) {
      if ((this.#counts.get(key) ?? 0) >= limit) throw refusal();
    }
    if (this.#total >= this.limits.streamsPerInstance) {
      throw new RetryLaterError(
        'SERVICE_UNAVAILABLE',
        `This server already holds its ${this.limits.streamsPerInstance} live event streams (SCOPEKIT_STREAMS_PER_INSTANCE); try again shortly`,
        STREAM_RETRY_AFTER_SECONDS,
      );
    }
    for (const [key] of keys) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      for (const [key] of keys) {
        const left = (this.#counts.get(key) ?? 1) - 1;
        if (left > 0) this.#counts.set(key, left);
        else this.#counts.delete(key);
      }
    };
  }

  #keysOf({ principal, userId, clientAddress }: StreamHolder): [string, number, () => Error][] {
    if (principal.kind === 'apiKey') return [];
    const refuse = (limit: number, holder: string, setting: string) => () =>
      new RetryLaterError(
        'TOO_MANY_REQUESTS',
        `${holder} already has ${limit} live event streams open (${setting}); close one or try again later`,
        STREAM_RETRY_AFTER_SECONDS,
      );
    const { streamsPerToken, streamsPerUser, streamsPerAddress } = this.limits;
    const keys: [string, number, () => Error][] = [
      [
        `token:${principal.tokenId}`,
        streamsPerToken,
        refuse(streamsPerToken, 'This token', 'SCOPEKIT_STREAMS_PER_TOKEN'),
      ],
      [
        `address:${addressKey(clientAddress)}`,
        streamsPerAddress,
        refuse(streamsPerAddress, 'This address', 'SCOPEKIT_STREAMS_PER_ADDRESS'),
      ],
    ];
    if (userId !== null) {
      keys.push([
        `user:${userId}`,
        streamsPerUser,
        refuse(streamsPerUser, 'This user', 'SCOPEKIT_STREAMS_PER_USER'),
      ]);
    }
    return keys;
  }
}
