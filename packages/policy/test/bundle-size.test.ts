import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** What a browser downloads for `entry`: bundled, minified and gzipped, in bytes. */
async function gzippedSize(entry: string): Promise<number> {
  const result = await build({
    stdin: { contents: entry, resolveDir: import.meta.dirname, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote no bundle');
  return gzipSync(output.contents, { level: 9 }).length;
}

// The budgets in the README; a change that crosses one should say so there.
describe('browser bundle size (minified, gzipped)', () => {
  it('checks and token helpers alone stay under 2.5 KB: no zod at all', async () => {
    const size = await gzippedSize(`
      import { can, originMatches, parseToken, refreshDelayMs } from '../src/index.js';
      globalThis.used = [can, originMatches, parseToken, refreshDelayMs];`);
    expect(size).toBeLessThan(2_500);
  });

  it('validating a create request stays under 12 KB: zod/mini, no locales', async () => {
    const size = await gzippedSize(`
      import { formatIssues, parseCreateTokenRequest } from '../src/index.js';
      globalThis.check = (body) => {
        const parsed = parseCreateTokenRequest(body);
        return parsed.ok ? parsed.value : formatIssues(parsed.error);
      };`);
    expect(size).toBeLessThan(12_000);
  });
});
