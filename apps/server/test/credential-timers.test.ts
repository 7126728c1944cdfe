import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// Every live stream (and streamed send) watches its credential with an expiry timer whose
// duration is the token's time left. Node keeps an unref'd timer's list for its duration
// after the timer is cleared, so 40,000 streams opened and closed left ~36,000 lists behind.
it('leaves no timer list behind once a credential watch is disposed', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-internals',
      '--conditions=@scopekit/source',
      '--import',
      'tsx',
      'test/support/timer-lists.ts',
    ],
    { cwd: new URL('..', import.meta.url) },
  );
  expect(Number(stdout.trim())).toBeLessThanOrEqual(1);
});
