import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const srcDir = new URL('../src/', import.meta.url);
const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [f, readFileSync(new URL(f, srcDir), 'utf8')] as const);

describe('runs in browsers and workers', () => {
  it('has sources to check', () => {
    expect(sources.map(([f]) => f)).toContain('token.ts');
  });

  it.each(sources)('%s uses no Node-only API', (_file, text) => {
    expect(text).not.toMatch(/from ['"]node:/);
    expect(text).not.toMatch(/\bBuffer\b|\bprocess\.|require\(/);
  });
});
