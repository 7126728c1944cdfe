import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const serverDir = new URL('../..', import.meta.url).pathname;

/**
 * Processes not yet exited: a test that timed out would otherwise leave its server running.
 * SIGTERM, which tsx passes on to the script: a SIGKILL would end tsx alone and orphan it.
 */
const running = new Set<ChildProcessWithoutNullStreams>();
afterAll(() => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * Starts a server script (`src/main.ts`, `src/cli.ts`) as its own process, as `pnpm dev` and
 * `pnpm cli` do: tsx itself (not through pnpm, so a signal reaches the script), with the
 * workspace packages read from source. The one place tests start a process.
 */
export function spawnScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcessWithoutNullStreams {
  const child = spawn(
    join(serverDir, 'node_modules/.bin/tsx'),
    ['--conditions=@scopekit/source', script, ...args],
    { cwd: serverDir, env },
  );
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script to its end. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawnScript(script, args, env);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<ScriptRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
