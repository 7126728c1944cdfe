import * as z from 'zod/mini';
import { parseHostname } from './origin.js';
import { RESOURCE_TYPES, type ResourceType, resourceTypes } from './resources.js';
import { err, ok, type Result } from './result.js';

export interface ValidationIssue {
  /** Where the problem is, as `policy[0].access[1]`; empty for the input as a whole. */
  path: string;
  message: string;
}

/** zod's own wording, kept here so that messages do not depend on a zod locale being loaded. */
const unknownKeys = (issue: z.core.$ZodRawIssue) =>
  issue.code === 'unrecognized_keys'
    ? `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((key) => `"${key}"`).join(', ')}`
    : undefined;

const quoted = (values: readonly string[]) => values.map((value) => `"${value}"`).join(', ');

/** The access kinds of one resource type, refused with the list of them. */
export function accessSchemaOf<T extends ResourceType>(type: T) {
  const kinds = RESOURCE_TYPES[type];
  return z.enum(kinds, { error: () => `must be one of ${kinds.join(', ')}` });
}

function entrySchemaOf<T extends ResourceType>(type: T) {
  return z.strictObject(
    {
      type: z.literal(type),
      id: z
        .string({ error: () => 'must be a string' })
        .check(
          z.minLength(1, 'must not be empty'),
          z.maxLength(200, 'must be at most 200 characters'),
        ),
      access: z
        .array(accessSchemaOf(type), { error: () => 'must be an array of access kinds' })
        .check(
          z.minLength(1, 'must grant at least one access'),
          z.maxLength(16, 'must list at most 16 access kinds'),
        ),
    },
    { error: unknownKeys },
  );
}

type EntrySchemas = { [T in ResourceType]: ReturnType<typeof entrySchemaOf<T>> }[ResourceType];

// One schema per type, typed as the union of them (which `map` cannot infer).
const entrySchemas = resourceTypes().map(entrySchemaOf) as unknown as [
  EntrySchemas,
  ...EntrySchemas[],
];
const typeNames = resourceTypes();

/** One policy entry: its `type` picks which access kinds it may list. */
export const policyEntrySchema = z.discriminatedUnion('type', entrySchemas, {
  error: (issue) => {
    if (issue.code === 'invalid_union') {
      return typeNames.length === 1
        ? `must be ${quoted(typeNames)}`
        : `must be one of ${quoted(typeNames)}`;
    }
    if (issue.code === 'invalid_type') return 'must be an object with type, id and access';
    return undefined;
  },
});

export const policySchema = z.strictObject(
  {
    version: z.literal('1', { error: () => 'must be "1"' }),
    data: z.array(policyEntrySchema).check(z.maxLength(100, 'must have at most 100 entries')),
  },
  { error: unknownKeys },
);

export const hostnameSchema = z.string({ error: () => 'must be a string' }).check(
  z.maxLength(2048, 'must be at most 2048 characters'),
  z.superRefine((value, ctx) => {
    const parsed = parseHostname(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
  }),
);

/** A create request's `policy`: Letta takes the entries alone, without `version`. */
export const policyEntriesSchema = z
  .array(policyEntrySchema, { error: () => 'must be an array of policy entries' })
  .check(
    z.minLength(1, 'must have at least one entry'),
    z.maxLength(100, 'must have at most 100 entries'),
  );

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
    expires_at: z.optional(expiresAtSchema),
  },
  {
    // Unknown keys are named; input that is no object at all is told what the body takes.
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected an object with hostname, policy and optionally expires_at'
        : unknownKeys(issue),
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
export const mintedTokenRecordSchema = z.extend(tokenRecordSchema, {
  expiresIn: z.int().check(z.nonnegative()),
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
