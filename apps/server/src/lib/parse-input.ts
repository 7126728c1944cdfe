import { formatIssues, toValidationIssues } from '@scopekit/policy';
import type { z } from 'zod';
import { badRequest } from '../errors.js';

/**
 * Services validate their own input with the schemas the edges share, so a caller that
 * skips the edge (the CLI, a test, another service) is held to the same rules. Failures
 * read "field: problem".
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  refuseUnstorable(input);
  // No body at all is an empty one; `null` or any other non-object is refused by the schema.
  const parsed = schema.safeParse(input === undefined ? {} : input);
  if (!parsed.success) throw badRequest(formatIssues(toValidationIssues(parsed.error)));
  return parsed.data;
}

const NUL = '\u0000';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Deeper than any input a schema here accepts; deeper input is refused by its schema anyway. */
const MAX_DEPTH = 32;

function stringProblem(text: string): string | undefined {
  if (text.includes(NUL)) return 'must not contain a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate';
  return undefined;
}

const childPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/**
 * The first value in an input that PostgreSQL would refuse to store or that would change
 * on the way there, as "field: problem": text with a NUL (`text` and `jsonb` refuse it),
 * an unpaired surrogate (UTF-8 cannot carry it; `jsonb` refuses its escape) or a number
 * JSON cannot hold (`1e999` parses to Infinity). Checked on raw input, keys included,
 * before any schema or query, so every field of every route is covered by this one walk.
 */
export function findUnstorable(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    return problem && (path ? `${path}: ${problem}` : problem);
  }
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return undefined;
    return `${path || 'input'}: must be a finite number`;
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorable(item, childPath(path, i), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = stringProblem(key);
    if (keyProblem) return `${path || 'input'}: a key ${keyProblem}`;
    const found = findUnstorable(item, childPath(path, key), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Throws the 400 for `findUnstorable`'s finding, if there is one. */
export function refuseUnstorable(value: unknown, path = ''): void {
  const found = findUnstorable(value, path);
  if (found) throw badRequest(found);
}
