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
    const caps = this.#capsOf(holder);
    for (const cap of caps) {
      if ((this.#counts.get(cap.key) ?? 0) >= cap.limit) throw refusal(cap);
    }
    if (this.#total >= this.limits.streamsPerInstance) {
      throw new RetryLaterError(
        'SERVICE_UNAVAILABLE',
        `This server already holds its ${this.limits.streamsPerInstance} live event streams (SCOPEKIT_STREAMS_PER_INSTANCE); try again shortly`,
        STREAM_RETRY_AFTER_SECONDS,
      );
    }
    // The release keeps only the keys: it lives as long as the stream, for hours maybe.
    const keys = caps.map((cap) => cap.key);
    for (const key of keys) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      for (const key of keys) {
        const left = (this.#counts.get(key) ?? 1) - 1;
        if (left > 0) this.#counts.set(key, left);
        else this.#counts.delete(key);
      }
    };
  }

  #capsOf({ principal, userId, clientAddress }: StreamHolder): StreamCap[] {
    if (principal.kind === 'apiKey') return [];
    const { streamsPerToken, streamsPerUser, streamsPerAddress } = this.limits;
    const caps: StreamCap[] = [
      {
        key: `token:${principal.tokenId}`,
        limit: streamsPerToken,
        holder: 'This token',
        setting: 'SCOPEKIT_STREAMS_PER_TOKEN',
      },
      {
        key: `address:${addressKey(clientAddress)}`,
        limit: streamsPerAddress,
        holder: 'This address',
        setting: 'SCOPEKIT_STREAMS_PER_ADDRESS',
      },
    ];
    if (userId !== null) {
      caps.push({
        key: `user:${userId}`,
        limit: streamsPerUser,
        holder: 'This user',
        setting: 'SCOPEKIT_STREAMS_PER_USER',
      });
    }
    return caps;
  }
}

/** One cap a stream counts against: its counter's key, its limit and how to name it. */
interface StreamCap {
  key: string;
  limit: number;
  holder: string;
  setting: string;
}

const refusal = ({ limit, holder, setting }: StreamCap) =>
  new RetryLaterError(
    'TOO_MANY_REQUESTS',
    `${holder} already has ${limit} live event streams open (${setting}); close one or try again later`,
    STREAM_RETRY_AFTER_SECONDS,
  );
