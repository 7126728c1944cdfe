import { createInterface } from 'node:readline';
import { lockDataDir } from '../../src/db/pglite-lock.js';

/**
 * A process that takes the embedded database's lock when told to, for the race in
 * pglite-lock.test.ts. Each line `<dir> <epoch ms>` is one attempt on `dir`, started when the
 * clock reaches that time, so that every process tries at the same instant; the answer is
 * `<dir> won` or `<dir> refused <reason>`, and a lock won is held until the process ends.
 */
const held: (() => void)[] = [];
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [dir = '', at = '0'] = line.split(' ');
  while (Date.now() < Number(at)) {
    // Spin rather than sleep: a timer would wake each process at a slightly different time.
  }
  try {
    held.push(lockDataDir(dir));
    process.stdout.write(`${dir} won\n`);
  } catch (error) {
    process.stdout.write(`${dir} refused ${(error as Error).message}\n`);
  }
}
for (const release of held) release();
