// Run by test/credential-timers.test.ts as its own process with --expose-internals: opens
// and disposes credential watches whose tokens expire at different times, and prints how
// many of Node's timer lists (one per distinct duration) are left.
import { createRequire } from 'node:module';
import { watchCredential } from '../../src/auth/credential-lifetime.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import type { ServiceDeps } from '../../src/deps.js';

const timers = createRequire(import.meta.url)('internal/timers') as {
  timerListMap: Record<string, unknown>;
};
const now = () => new Date();
const deps = { now, tokenCache: new TokenCache({ now }) } as unknown as ServiceDeps;
const before = Object.keys(timers.timerListMap).length;
for (let i = 0; i < 500; i++) {
  const watch = watchCredential(
    deps,
    {
      kind: 'clientToken',
      organizationId: 'org',
      tokenId: `tok-${i}`,
      policy: { version: '1', data: [] } as never,
      hostname: 'https://app.example',
      expiresAt: new Date(Date.now() + 600_000 + i * 7),
    },
    { authorization: undefined, origin: undefined },
  );
  watch.dispose();
}
console.log(Object.keys(timers.timerListMap).length - before);
