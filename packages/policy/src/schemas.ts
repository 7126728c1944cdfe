import { z } from 'zod';
import { ACCESS_KINDS } from './access.js';
import { parseHostname } from './origin.js';
import { err, ok, type Result } from './result.js';

export interface ValidationIssue {
  /** Where the problem is, as `policy[0].access[1]`; empty for the input as a whole. */
  path: string;
  message: string;
}

export const accessSchema = z.enum(ACCESS_KINDS, {
  error: () => `must be one of ${ACCESS_KINDS.join(', ')}`,
});

export const policyEntrySchema = z.strictObject({
  type: z.literal('agent', { error: () => 'must be "agent"' }),
  id: z
    .string({ error: () => 'must be a string' })
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters'),
  access: z
    .array(accessSchema, { error: () => 'must be an array of access kinds' })
    .min(1, 'must grant at least one access')
    .max(16, 'must list at most 16 access kinds'),
});

export const policySchema = z.strictObject({
  version: z.literal('1', { error: () => 'must be "1"' }),
  data: z.array(policyEntrySchema).max(100, 'must have at most 100 entries'),
});

export const hostnameSchema = z
  .string({ error: () => 'must be a string' })
  .max(2048, 'must be at most 2048 characters')
  .superRefine((value, ctx) => {
    const parsed = parseHostname(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
  });

/** A create request's `policy`: Letta takes the entries alone, without `version`. */
export const policyEntriesSchema = z
  .array(policyEntrySchema, { error: () => 'must be an array of policy entries' })
  .min(1, 'must have at least one entry')
  .max(100, 'must have at most 100 entries');

/** A requested expiry, as an ISO 8601 date-time with its offset (`Z` or `+02:00`). */
export const expiresAtSchema = z.iso.datetime({
  offset: true,
  error: () => 'must be an ISO 8601 date-time, such as 2030-01-31T12:00:00Z',
});

/**
 * Letta's create body (snake_case `expires_at`); unknown fields are refused by name. Another
 * edge (a tRPC input with `expiresAt`, say) builds its own from the same pieces, so that it
 * refuses the same input with the same messages.
 */
export const createTokenRequestSchema = z.strictObject(
  {
    hostname: hostnameSchema,
    policy: policyEntriesSchema,
    expires_at: expiresAtSchema.optional(),
  },
  {
    // Only for input that is no object at all; unknown keys keep zod's message naming them.
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected an object with hostname, policy and optionally expires_at'
        : undefined,
  },
);
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

/** Letta's token as the API returns it (camelCase). */
export const tokenRecordSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  hostname: z.string(),
  policy: policySchema,
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

/**
 * What creating a token answers: the record, and `expiresIn`, the whole seconds it has left
 * by the server's clock, which `refreshDelayMs` plans from (an addition to Letta's shape,
 * which its SDK passes over).
 */
export const mintedTokenRecordSchema = tokenRecordSchema.extend({
  expiresIn: z.number().int().nonnegative(),
});
export type MintedTokenRecord = z.infer<typeof mintedTokenRecordSchema>;

type PathSegment = PropertyKey | { key: PropertyKey };

/** Issues as zod and every Standard Schema library report them. */
export interface IssueList {
  issues: readonly { message: string; path?: readonly PathSegment[] | undefined }[];
}

function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment))
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** From a `ZodError` (or any Standard Schema failure) to `{ path: "policy[0].id", message }`. */
export function toValidationIssues(error: IssueList): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath(issue.path ?? []),
    message: issue.message,
  }));
}

/** `policy[0].access[1]: must be one of …; hostname: …` */
export function formatIssues(issues: ValidationIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}

export function parseCreateTokenRequest(
  input: unknown,
): Result<CreateTokenRequest, ValidationIssue[]> {
  const parsed = createTokenRequestSchema.safeParse(input);
  return parsed.success ? ok(parsed.data) : err(toValidationIssues(parsed.error));
}
