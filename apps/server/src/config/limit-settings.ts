// Request rates per credential and per address, and the caps on live event streams. (The
// log-in and sign-up limits are with the accounts, in account-settings.ts.)
import { z } from 'zod';
import type { StreamCapLimits } from '../auth/stream-caps.js';

export const limitSettings = z.object({
  SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().positive().default(600),
  SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  /** Failed bearer authentications per client address: each unknown token costs a read. */
  SCOPEKIT_BEARER_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /**
   * Live event streams (the web app's conversation stream) one client token, one web user
   * and one client address may hold open on an instance, and the instance in all: each holds
   * a connection and its buffers for as long as its client keeps it. The instance's 5,000
   * is what fits a 1 GB instance with room to spare on either runtime (about 40 KB a stream
   * over a 190–260 MB idle instance: under 500 MB, 1.5× for turns and GC; docs/scaling.md):
   * past it a stream is refused with 503 and Retry-After rather than the instance running
   * out of memory. It needs a descriptor limit above it (`ulimit -n`, LimitNOFILE).
   */
  SCOPEKIT_STREAMS_PER_TOKEN: z.coerce.number().int().positive().default(5),
  SCOPEKIT_STREAMS_PER_USER: z.coerce.number().int().positive().default(20),
  SCOPEKIT_STREAMS_PER_ADDRESS: z.coerce.number().int().positive().default(200),
  SCOPEKIT_STREAMS_PER_INSTANCE: z.coerce.number().int().positive().default(5_000),
});

export interface LimitConfig {
  clientTokenPerMinute: number;
  apiKeyPerMinute: number;
  bearerFailuresPerMinute: number;
  streamCaps: StreamCapLimits;
}

export function limitConfig(e: z.infer<typeof limitSettings>): LimitConfig {
  return {
    clientTokenPerMinute: e.SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE,
    apiKeyPerMinute: e.SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE,
    bearerFailuresPerMinute: e.SCOPEKIT_BEARER_FAILURES_PER_MINUTE,
    streamCaps: {
      streamsPerToken: e.SCOPEKIT_STREAMS_PER_TOKEN,
      streamsPerUser: e.SCOPEKIT_STREAMS_PER_USER,
      streamsPerAddress: e.SCOPEKIT_STREAMS_PER_ADDRESS,
      streamsPerInstance: e.SCOPEKIT_STREAMS_PER_INSTANCE,
    },
  };
}
