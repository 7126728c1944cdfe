import { randomUUID } from 'node:crypto';
import type { Policy } from '@scopekit/policy';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client.js';
import type { EventBus, Interruption } from '../events/bus.js';
import type { Principal } from './principal.js';

/** What a verified credential's row says, enough to build a principal without the database. */
export type VerifiedCredential =
  | { kind: 'apiKey'; id: string; organizationId: string }
  | {
      kind: 'clientToken';
      id: string;
      organizationId: string;
      policy: Policy;
      hostname: string;
      expiresAt: Date;
    };

/** The principal a credential stands for: built once per credential, shared by its requests. */
export function principalOf(credential: VerifiedCredential): Principal {
  const principal: Principal =
    credential.kind === 'apiKey'
      ? { kind: 'apiKey', organizationId: credential.organizationId, apiKeyId: credential.id }
      : {
          kind: 'clientToken',
          organizationId: credential.organizationId,
          tokenId: credential.id,
          policy: credential.policy,
          hostname: credential.hostname,
          expiresAt: credential.expiresAt,
        };
  // Frozen: every request of the credential gets this one object.
  return Object.freeze(principal);
}

/** A cached credential: what verification needs of it, computed when it was verified. */
export interface CachedCredential {
  readonly hash: string;
  readonly credential: VerifiedCredential;
  readonly principal: Principal;
}

interface Entry extends CachedCredential {
  /** The credential as sent, when it was verified here: see `lookup`. */
  token: string | undefined;
  /** Epoch ms after which the entry must not be used: the token's expiry, or the age cap. */
  validUntil: number;
}

/**
 * Every instance listens here; the payload names the SHA-256 of the credential to drop
 * (`hash`) and the cache that sent it (`from`).
 */
export const CREDENTIAL_REVOKED_CHANNEL = 'scopekit_credential_revoked';

export interface TokenCacheOptions {
  now: () => Date;
  /** Most credentials held at once; the least recently used go first. */
  max?: number;
  /**
   * Longest an entry is trusted without reading the database again. Revocations arrive by
   * NOTIFY within milliseconds; this only bounds the damage of one lost without a trace.
   */
  maxAgeMs?: number;
}

/**
 * Verified credentials by the SHA-256 of their value, so a steady client costs no database
 * round trip. Entries never outlive the token's expiry. Revocation evicts everywhere: the
 * revoking instance at once (`evict`), the others when the NOTIFY arrives (`listen`), and
 * all of them drop everything while they cannot hear revocations.
 */
export class TokenCache {
  /** Names this cache in the revocation notices it sends, so it can tell its own apart. */
  readonly id = randomUUID();
  readonly #entries: LRUCache<string, Entry>;
  /**
   * The hash of each cached credential by its value, so a steady client's requests skip
   * the checksum and the SHA-256: once per credential, not once per request. A value is
   * held exactly as long as its entry (dropped with it, however it goes).
   */
  readonly #hashes = new Map<string, string>();
  readonly #now: () => Date;
  readonly #maxAgeMs: number;
  /**
   * Bumped by every eviction. A lookup notes it before reading the database and may store
   * its result only if it is unchanged: otherwise a revocation that raced the read could be
   * overwritten by the row read just before it.
   */
  #generation = 0;
  /** Set while revocations cannot be heard: nothing is cached then. */
  #deaf = false;
  /** Long-lived users of a credential (live streams) that want to hear of its eviction. */
  readonly #watchers = new Map<string, Set<() => void>>();

  constructor(options: TokenCacheOptions) {
    this.#now = options.now;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#entries = new LRUCache({
      max: options.max ?? 10_000,
      dispose: (entry) => {
        if (entry.token !== undefined) this.#hashes.delete(entry.token);
      },
    });
  }

  get size() {
    return this.#entries.size;
  }

  get(hash: string): VerifiedCredential | undefined {
    return this.find(hash)?.credential;
  }

  /** The live entry of `hash`; `now` saves reading the clock again when the caller has. */
  find(hash: string, now: Date = this.#now()): CachedCredential | undefined {
    const entry = this.#entries.get(hash);
    if (!entry) return undefined;
    if (now.getTime() >= entry.validUntil) {
      this.#entries.delete(hash);
      return undefined;
    }
    return entry;
  }

  /** The cached credential sent as `token`, without hashing it again. */
  lookup(token: string, now?: Date): CachedCredential | undefined {
    const hash = this.#hashes.get(token);
    return hash === undefined ? undefined : this.find(hash, now);
  }

  /** Call before reading the database; hand the result to `set`. */
  generation(): number {
    return this.#generation;
  }

  /** `token`, the credential as sent, lets later requests find it by `lookup`. */
  set(
    hash: string,
    credential: VerifiedCredential,
    readAtGeneration: number,
    token?: string,
  ): void {
    if (this.#deaf || readAtGeneration !== this.#generation) return;
    const capped = this.#now().getTime() + this.#maxAgeMs;
    const validUntil =
      credential.kind === 'clientToken' ? Math.min(capped, credential.expiresAt.getTime()) : capped;
    this.#entries.set(hash, {
      hash,
      credential,
      principal: principalOf(credential),
      validUntil,
      token,
    });
    if (token !== undefined) this.#hashes.set(token, hash);
  }

  evict(hash: string): void {
    this.#generation++;
    this.#entries.delete(hash);
    for (const watcher of this.#watchers.get(hash) ?? []) watcher();
  }

  /**
   * Calls `onEvicted` whenever `hash` is evicted (revoked here or on another instance), so
   * a stream authorized by it can re-check at once instead of at its next periodic check.
   */
  watch(hash: string, onEvicted: () => void): () => void {
    let watchers = this.#watchers.get(hash);
    if (!watchers) {
      watchers = new Set();
      this.#watchers.set(hash, watchers);
    }
    watchers.add(onEvicted);
    const current = watchers;
    return () => {
      current.delete(onEvicted);
      if (current.size === 0 && this.#watchers.get(hash) === current) this.#watchers.delete(hash);
    };
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Evicts what any instance announces, and drops everything around a gap in delivery. */
  listen(bus: EventBus): Promise<() => Promise<void>> {
    return bus.subscribe(
      CREDENTIAL_REVOKED_CHANNEL,
      (payload) => {
        const notice = payload as { hash?: unknown; from?: unknown } | null;
        // Its own notices this cache has acted on already, before the revocation answered.
        if (typeof notice?.hash === 'string' && notice.from !== this.id) this.evict(notice.hash);
      },
      (phase: Interruption) => {
        this.#deaf = phase === 'lost';
        this.clear();
      },
    );
  }
}

/**
 * Runs a revoking update and tells every instance, in one transaction: on PostgreSQL the
 * notices are delivered when, and only if, the revocation commits, so no crash between the
 * two can leave another instance's cache holding a credential. This instance forgets each
 * credential before the caller answers, and skips its own notices when they come back.
 */
export async function revokeAndAnnounce<R extends { tokenHash: string }>(
  deps: { db: Database; tokenCache: TokenCache; bus: EventBus },
  revoke: (db: Database) => Promise<R[]>,
): Promise<R[]> {
  const { tokenCache } = deps;
  const rows = await deps.bus.transaction(deps.db, async (tx, publish) => {
    const revoked = await revoke(tx);
    // One small notice per credential (a hash and a UUID, far below NOTIFY's 8000 bytes),
    // all sent together however many credentials were revoked.
    await publish(
      CREDENTIAL_REVOKED_CHANNEL,
      revoked.map((row) => ({ hash: row.tokenHash, from: tokenCache.id })),
    );
    return revoked;
  });
  for (const { tokenHash } of rows) tokenCache.evict(tokenHash);
  return rows;
}
