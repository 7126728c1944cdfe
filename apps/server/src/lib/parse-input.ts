import { formatIssues, toValidationIssues } from '@scopekit/policy';
import type { z } from 'zod';
import { badRequest } from '../errors.js';

/**
 * Services validate their own input with the schemas the edges share, so a caller that
 * skips the edge (the CLI, a test, another service) is held to the same rules. Failures
 * read "field: problem".
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // No body at all is an empty one; `null` or any other non-object is refused by the schema.
  const parsed = schema.safeParse(input === undefined ? {} : input);
  if (!parsed.success) throw badRequest(formatIssues(toValidationIssues(parsed.error)));
  return parsed.data;
}
