import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { StartRefusal } from '../start-refusal.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** No configured key opens this ciphertext: the key was changed or lost without rotation. */
export class UnreadableSecretError extends Error {
  constructor(message = 'No configured encryption key opens this sealed secret') {
    super(message);
  }
}

/**
 * AES-256-GCM for the few secrets that must be shown again (a token's value in the list
 * call). The key lives outside the database, so a dump alone decrypts nothing. Previous keys
 * only open what they sealed, so a key can be rotated without losing the tokens it sealed.
 */
export class SecretBox {
  readonly #key: Buffer;
  /** The current key first, then the previous ones, in the order they are tried. */
  readonly #openers: Buffer[];
  /** HKDF of the current key for `keyedHash`, so one key never serves two algorithms. */
  readonly #hashKey: Buffer;

  constructor(key: Buffer, previous: Buffer[] = []) {
    for (const k of [key, ...previous]) {
      if (k.length !== 32) throw new Error('The encryption key must be exactly 32 bytes');
    }
    this.#key = key;
    this.#openers = [key, ...previous];
    this.#hashKey = Buffer.from(
      hkdfSync('sha256', key, 'scopekit', 'scopekit keyed hash for counters v1', 32),
    );
  }

  /**
   * HMAC-SHA256 of what a person typed, for the rate-limit counters shared through the
   * database: people type passwords into the username field, and a bare hash of a human
   * password falls to a word list in seconds, while this one needs the key too. It follows
   * the current key, so a rotation starts those counters afresh (for at most one window).
   */
  keyedHash(value: string): string {
    return createHmac('sha256', this.#hashKey).update(value).digest('hex');
  }

  /**
   * Accepts 64 hex characters or base64 of 32 bytes, as SCOPEKIT_ENCRYPTION_KEY does, and
   * SCOPEKIT_ENCRYPTION_KEY_PREVIOUS's comma-separated list of the same.
   */
  static fromString(encoded: string, previous = ''): SecretBox {
    const old = previous
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => decodeKey(s, 'SCOPEKIT_ENCRYPTION_KEY_PREVIOUS'));
    return new SecretBox(decodeKey(encoded, 'SCOPEKIT_ENCRYPTION_KEY'), old);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  /** `v1.<iv>.<ciphertext+tag>` in base64url; `aad` ties the ciphertext to its row. */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** Throws UnreadableSecretError when no configured key opens it (or it is malformed). */
  open(sealed: string, aad: string): string {
    const [version, iv, body, ...rest] = sealed.split('.');
    const ivBytes = Buffer.from(iv ?? '', 'base64url');
    const bytes = Buffer.from(body ?? '', 'base64url');
    if (
      version !== VERSION ||
      rest.length > 0 ||
      ivBytes.length !== IV_BYTES ||
      bytes.length < TAG_BYTES
    ) {
      throw new UnreadableSecretError('Unrecognised sealed secret');
    }
    for (const key of this.#openers) {
      // Everything that reads the ciphertext is in here: whatever it was cut or changed to,
      // the answer is "unreadable", never another error.
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(Buffer.from(aad));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([
          decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        // GCM's tag check failed: sealed with another key (or tampered with); try the next.
      }
    }
    throw new UnreadableSecretError();
  }
}

function decodeKey(encoded: string, variable: string): Buffer {
  const trimmed = encoded.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new StartRefusal(`${variable} must be 32 bytes, as 64 hex characters or base64`);
  }
  return key;
}
