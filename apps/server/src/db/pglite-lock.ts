import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StartRefusal } from '../start-refusal.js';

/**
 * Embedded PGlite is a single-process database: a second process opening the same folder
 * would corrupt it. A lock file turns that into a clear refusal (say, the CLI while `pnpm dev`
 * runs) instead of damage. You probably don't need to edit this file.
 *
 * The lock is taken by creating the file exclusively (`wx`): of any number of processes
 * starting at the same instant, the operating system lets exactly one create it.
 *
 * A pid alone cannot say whether the lock is stale: after a crash the pid is free for reuse,
 * by an unrelated process or by this same server restarted in a container (pid 1 again), and a
 * lock naming it would block every restart. So the holder also records when its process
 * started (from /proc, or `ps` elsewhere) and, on Linux, which boot of the machine: a live pid
 * holds the lock only if it is the very process that wrote it. The random id names this one
 * holding, so that a stale lock is removed by one process only (see `breakStale`).
 *
 * Not `proper-lockfile`: it judges staleness by a heartbeat on the file's mtime, so a restart
 * waits out its stale period, and an event loop blocked for longer than that (PGlite runs its
 * queries on the main thread) lets a second process in.
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  const me = identify(process.pid);
  const record = JSON.stringify(me);
  for (let attempt = 0; attempt < 500; attempt++) {
    if (createExclusive(file, record)) return () => releaseIfMine(file, me.id);
    const found = readLock(file);
    if (found === undefined) continue;
    if (found.holder === undefined) {
      // Created but not yet written, or left empty by a crash at that very moment.
      if (Date.now() - found.mtimeMs < UNWRITTEN_GRACE_MS) sleep(10);
      else breakStale(file, found.key, record);
      continue;
    }
    if (isRunning(found.holder)) throw inUse(dir, file, found.holder);
    breakStale(file, found.key, record);
  }
  throw new StartRefusal(`Could not lock the embedded database in ${dir}: try again`);
}

const LOCK_FILE = 'owner.lock';
/** How long a lock file may stay empty before its writer is taken for dead. */
const UNWRITTEN_GRACE_MS = 2_000;
/** How long a takeover may take before its process is taken for dead (it takes microseconds). */
const BREAK_GRACE_MS = 10_000;

export interface LockHolder {
  id: string;
  pid: number;
  host: string;
  /** Linux's boot id: a pid from an earlier boot of the machine is another process. */
  boot?: string | undefined;
  /** The process's start (clock ticks since boot on Linux, `ps`'s lstart elsewhere). */
  started?: string | undefined;
}

/** This process, or another one on this machine, as a lock records it. */
export function identify(pid: number): LockHolder {
  return { id: randomUUID(), pid, host: hostname(), boot: bootId(), started: processStart(pid) };
}

/**
 * Removes a stale lock so that the next exclusive create can succeed, without ever removing a
 * fresh one: several processes may find the same stale lock at once, and one of them may take
 * the folder before another gets round to removing "the stale lock", which is by then the new
 * holder's. So only the process that exclusively creates `<lock>.<stale id>.break` removes it,
 * after reading again that the lock is still that stale holder's; nobody else can have
 * removed it in between, since that takes the same break file.
 */
function breakStale(file: string, staleKey: string, record: string) {
  const breaker = `${file}.${staleKey}.break`;
  if (!createExclusive(breaker, record)) {
    // Another process is removing it; or died doing so, whose file may go after a while.
    const since = modifiedAt(breaker);
    if (since !== undefined && Date.now() - since > BREAK_GRACE_MS)
      rmSync(breaker, { force: true });
    else sleep(10);
    return;
  }
  try {
    if (readLock(file)?.key === staleKey) rmSync(file, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

export function isRunning(holder: LockHolder): boolean {
  // Another machine's processes cannot be seen from here: it holds until an operator says not.
  if (holder.host !== hostname()) return true;
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return false;
  if (!pidAlive(holder.pid)) return false;
  if (holder.started === undefined) return true;
  const started = processStart(holder.pid);
  return started === undefined || started === holder.started;
}

function inUse(dir: string, file: string, holder: LockHolder): StartRefusal {
  const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
  const ifGone =
    holder.host === hostname() ? '' : ` If ${holder.host} no longer runs it, delete ${file}.`;
  return new StartRefusal(
    `The embedded database in ${dir} is in use by process ${holder.pid}${where} (a running server?). ` +
      `Stop it first, or set DATABASE_URL to a PostgreSQL database that several processes can share.${ifGone}`,
  );
}

interface FoundLock {
  /** Names this holding for `breakStale`: the holder's id, or the file itself when unreadable. */
  key: string;
  holder: LockHolder | undefined;
  mtimeMs: number;
}

/** The lock as it is now; undefined when there is none. */
function readLock(file: string): FoundLock | undefined {
  let text: string;
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(file);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const holder = parseHolder(text);
  const key = holder?.id ?? `unreadable-${stat.ino}-${Math.trunc(stat.mtimeMs)}`;
  return { key, holder, mtimeMs: stat.mtimeMs };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    // The id becomes part of a file name: only a UUID is taken as one.
    if (typeof value.id !== 'string' || !/^[0-9a-f-]{36}$/.test(value.id)) return undefined;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return value as LockHolder;
  } catch {
    return undefined;
  }
}

/** True when this call created the file; false when it already existed. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function releaseIfMine(file: string, id: string) {
  if (readLock(file)?.key === id) rmSync(file, { force: true });
}

function modifiedAt(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function bootId(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function processStart(pid: number): string | undefined {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 22, counted after the command name, which may itself hold spaces and parentheses.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The lock is taken once, at start, before anything else runs: a short synchronous wait. */
function sleep(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
