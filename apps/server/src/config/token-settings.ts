// ck-let- tokens and API keys: their lifetimes, the key that encrypts their values, and how
// long the sweeper keeps them once expired or revoked.
import { DEFAULT_MAX_TOKEN_TTL_MS } from '@scopekit/policy';
import { z } from 'zod';

export const tokenSettings = z.object({
  /** 32 bytes, base64 or hex: encrypts token values that the list call must show again. */
  SCOPEKIT_ENCRYPTION_KEY: z.string().optional(),
  /** Keys replaced by SCOPEKIT_ENCRYPTION_KEY (comma-separated): they only decrypt. */
  SCOPEKIT_ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  SCOPEKIT_TOKEN_MAX_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_MAX_TOKEN_TTL_MS / 1000),
  /**
   * `optional` accepts a ck-let- token from a client that sends no Origin (a Node backend,
   * server-side rendering, a mobile app), as Letta Cloud does; a wrong Origin is still
   * refused. Off by default: see SECURITY.md for what it gives up.
   */
  SCOPEKIT_CLIENT_TOKEN_ORIGIN: z.enum(['required', 'optional']).default('required'),
  SCOPEKIT_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().positive().default(600),
  /** How long expired and revoked tokens are kept, so a request with one is told why it fails. */
  SCOPEKIT_TOKEN_RETAIN_SECONDS: z.coerce.number().int().min(0).default(86_400),
});

export interface TokenConfig {
  encryptionKey: string | undefined;
  /** Comma-separated keys tried after `encryptionKey` to decrypt, never to encrypt. */
  previousEncryptionKeys: string | undefined;
  tokenMaxTtlMs: number;
  clientTokenOrigin: 'required' | 'optional';
  sweepIntervalMs: number;
  tokenRetainMs: number;
}

export function tokenConfig(e: z.infer<typeof tokenSettings>): TokenConfig {
  return {
    encryptionKey: e.SCOPEKIT_ENCRYPTION_KEY,
    previousEncryptionKeys: e.SCOPEKIT_ENCRYPTION_KEY_PREVIOUS,
    tokenMaxTtlMs: e.SCOPEKIT_TOKEN_MAX_TTL_SECONDS * 1000,
    clientTokenOrigin: e.SCOPEKIT_CLIENT_TOKEN_ORIGIN,
    sweepIntervalMs: e.SCOPEKIT_SWEEP_INTERVAL_SECONDS * 1000,
    tokenRetainMs: e.SCOPEKIT_TOKEN_RETAIN_SECONDS * 1000,
  };
}
