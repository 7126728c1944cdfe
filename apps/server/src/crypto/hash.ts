import { createHash } from 'node:crypto';

/**
 * Tokens carry 256 random bits, so an unsalted SHA-256 is enough to make the stored value
 * useless to an attacker while keeping look-up a single indexed equality.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
