import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './harness.js';

/**
 * `pnpm bench:runtimes`: the whole bench (`run.ts`, with the same environment: BENCH_STEPS,
 * BENCH_DURATION, DATABASE_URL) under the Node running this script and then under Node 24
 * (installed from the npm registry's `node` package by `.ci/node24` if missing), one after the
 * other so they never share the machine, and one table with a column per runtime. Each run
 * writes its rows as JSON (`BENCH_JSON`); its own table and log go to stderr as it runs.
 */
interface Run {
  node: string;
  header: string;
  rows: Row[];
}

const server = fileURLToPath(new URL('..', import.meta.url));
const node24 = join(
  spawnSync('bash', [fileURLToPath(new URL('../../../.ci/node24', import.meta.url))], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).stdout.trim(),
  'node',
);
const dir = mkdtempSync(join(tmpdir(), 'scopekit-bench-'));
const runs: Run[] = [];
let failed = false;
try {
  for (const [i, node] of [process.execPath, node24].entries()) {
    const file = join(dir, `run-${i}.json`);
    const code = await benchUnder(node, file);
    failed ||= code !== 0;
    try {
      runs.push(JSON.parse(readFileSync(file, 'utf8')) as Run);
    } catch {
      failed = true;
      process.stderr.write(`bench: the run under ${node} wrote no rows (exit code ${code})\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stderr.write('bench: every row on both runtimes\n');
console.log(mergedTable(runs));
process.exitCode = failed ? 1 : 0;

/** One whole bench under `node`, its output on stderr; resolves to its exit code. */
function benchUnder(node: string, jsonFile: string): Promise<number | null> {
  const child = spawn(node, ['--conditions=@scopekit/source', '--import', 'tsx', 'bench/run.ts'], {
    cwd: server,
    env: { ...process.env, BENCH_JSON: jsonFile },
    stdio: ['ignore', process.stderr, process.stderr],
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** figure | target | one column per run, rows in the order the runs printed them. */
function mergedTable(all: Run[]): string {
  const figures = [...new Set(all.flatMap((run) => run.rows.map((row) => row.figure)))];
  const cell = (row: Row | undefined) =>
    !row ? '—' : row.verdict === 'reported' ? row.measured : `${row.measured}: ${row.verdict}`;
  return [
    ...all.map((run) => run.header),
    '',
    `| figure | target | ${all.map((run) => `Node ${run.node}`).join(' | ')} |`,
    `|---|---|${all.map(() => '---|').join('')}`,
    ...figures.map((figure) => {
      const rows = all.map((run) => run.rows.find((row) => row.figure === figure));
      const target = rows.find((row) => row?.target)?.target ?? '';
      return `| ${figure} | ${target} | ${rows.map(cell).join(' | ')} |`;
    }),
  ].join('\n');
}
