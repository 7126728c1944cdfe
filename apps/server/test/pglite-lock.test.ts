import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identify, type LockHolder, lockDataDir } from '../src/db/pglite-lock.js';
import { StartRefusal } from '../src/start-refusal.js';
import { spawnScript } from './support/processes.js';

const dirs: string[] = [];
function freshDir() {
  const dir = mkdtempSync(join(tmpdir(), 'scopekit-lock-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function leaveLock(dir: string, holder: Partial<LockHolder>) {
  writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ ...identify(process.pid), ...holder }));
}

/** A pid that was a process a moment ago and is no more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 0;
}

describe("the embedded database's lock", () => {
  it('refuses a second holder while the first runs, and is free again once released', () => {
    const dir = freshDir();
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(StartRefusal);
    expect(() => lockDataDir(dir)).toThrow(`is in use by process ${process.pid}`);
    release();
    lockDataDir(dir)();
  });

  it('is taken over from a crashed holder whose pid now belongs to a live, unrelated process', async () => {
    // The test runner's own pid and pid 1 are alive, but not the processes that wrote these.
    for (const stale of [
      { pid: process.pid, started: 'another-process' },
      { pid: 1, started: 'another-process' },
      { pid: process.pid, boot: 'an-earlier-boot' },
      { pid: await deadPid() },
    ]) {
      const dir = freshDir();
      leaveLock(dir, stale);
      const release = lockDataDir(dir);
      expect(() => lockDataDir(dir)).toThrow(StartRefusal);
      release();
    }
  });

  it('is taken over from a lock file left empty by a crash, once it has stayed empty', () => {
    const dir = freshDir();
    const file = join(dir, 'owner.lock');
    writeFileSync(file, '');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(file, aMinuteAgo, aMinuteAgo);
    lockDataDir(dir)();
  });

  it("is not taken from another machine's process, and says which file to delete", () => {
    const dir = freshDir();
    leaveLock(dir, { host: `not-${hostname()}` });
    expect(() => lockDataDir(dir)).toThrow(`delete ${join(dir, 'owner.lock')}`);
  });

  it('goes to exactly one of several processes trying at the same instant, stale lock or not', {
    // Processes that load tsx: seconds each on a busy machine.
    timeout: 120_000,
  }, async () => {
    const children = Array.from({ length: 5 }, () =>
      spawnScript('test/support/take-lock.ts', [], process.env),
    );
    const lines = children.map((child) => {
      const queue: string[] = [];
      const waiters: ((line: string) => void)[] = [];
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
          const line = buffer.slice(0, at);
          buffer = buffer.slice(at + 1);
          const waiter = waiters.shift();
          if (waiter) waiter(line);
          else queue.push(line);
        }
      });
      return () =>
        new Promise<string>((resolve) => {
          const line = queue.shift();
          if (line !== undefined) resolve(line);
          else waiters.push(resolve);
        });
    });
    try {
      for (const next of lines) expect(await next()).toBe('ready');
      for (const stale of [false, true, false, true, false, true]) {
        const dir = freshDir();
        if (stale)
          leaveLock(dir, { pid: process.pid, started: 'another-process', id: randomUUID() });
        const at = Date.now() + 300;
        for (const child of children) child.stdin.write(`${dir} ${at}\n`);
        const answers = await Promise.all(lines.map((next) => next()));
        const won = answers.filter((answer) => answer === `${dir} won`);
        expect(won, answers.join('\n')).toHaveLength(1);
        for (const answer of answers.filter((a) => a !== `${dir} won`)) {
          expect(answer).toMatch(
            `${dir} refused The embedded database in ${dir} is in use by process`,
          );
        }
      }
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(
        children.map((child) => new Promise((resolve) => child.on('exit', resolve))),
      );
    }
  });
});
