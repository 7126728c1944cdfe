import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIssues,
  mintedTokenRecordSchema,
  parseCreateTokenRequest,
  policyEntrySchema,
  policySchema,
  RESOURCE_TYPES,
  resourceTypes,
  tokenRecordSchema,
} from '../src/index.js';

const valid = {
  hostname: 'https://chat.example.com',
  policy: [{ type: 'agent', id: 'agent-1', access: ['read_messages', 'write_messages'] }],
};

function messageFor(input: unknown): string {
  const parsed = parseCreateTokenRequest(input);
  if (parsed.ok) throw new Error('expected the input to be refused');
  return formatIssues(parsed.error);
}

describe('create request', () => {
  it('accepts Letta’s body, with or without expires_at', () => {
    expect(parseCreateTokenRequest(valid)).toEqual({ ok: true, value: valid });
    const withExpiry = { ...valid, expires_at: '2030-01-31T12:00:00Z' };
    expect(parseCreateTokenRequest(withExpiry)).toEqual({ ok: true, value: withExpiry });
  });

  it.each([
    ['an unknown field, by name', { ...valid, scope: 'all' }, /^Unrecognized key: "scope"$/],
    [
      'unknown fields of an entry, by name',
      { ...valid, policy: [{ ...valid.policy[0], tool: 1, agent: 2 }] },
      /^policy\[0\]: Unrecognized keys: "tool", "agent"$/,
    ],
    [
      'an entry that is not an object',
      { ...valid, policy: ['agent-1'] },
      /^policy\[0\]: must be an object with type, id and access$/,
    ],
    [
      'a bad access kind, by position',
      { ...valid, policy: [{ type: 'agent', id: 'a', access: ['read_messages', 'own'] }] },
      /^policy\[0\]\.access\[1\]: must be one of read_messages, write_messages, read_agent, write_agent$/,
    ],
    [
      'a resource type',
      { ...valid, policy: [{ type: 'tool', id: 'a', access: ['read_agent'] }] },
      /^policy\[0\]\.type: must be (one of )?"agent"/,
    ],
    [
      'an empty access list',
      { ...valid, policy: [{ type: 'agent', id: 'a', access: [] }] },
      /^policy\[0\]\.access: must grant at least one access$/,
    ],
    ['an empty policy', { ...valid, policy: [] }, /^policy: must have at least one entry$/],
    [
      'an empty id',
      { ...valid, policy: [{ type: 'agent', id: '', access: ['read_agent'] }] },
      /^policy\[0\]\.id: must not be empty$/,
    ],
    [
      'a trailing slash',
      { ...valid, hostname: 'https://chat.example.com/' },
      /^hostname: must not end with a trailing slash$/,
    ],
    [
      'a date that is not ISO 8601',
      { ...valid, expires_at: 'next tuesday' },
      /^expires_at: must be an ISO 8601 date-time/,
    ],
    ['a missing hostname', { policy: valid.policy }, /^hostname: must be a string$/],
  ])('refuses %s', (_name, input, message) => {
    expect(messageFor(input)).toMatch(message);
  });

  it.each([
    ['a form-encoded string', 'hostname=x'],
    ['null', null],
    ['an array', [valid]],
  ])('refuses %s, which is not an object at all, saying what it takes', (_name, input) => {
    expect(messageFor(input)).toBe(
      'expected an object with hostname, policy and optionally expires_at',
    );
  });
});

describe('schemas derived from RESOURCE_TYPES', () => {
  it.each(resourceTypes())('accepts every access kind of %s, and only those', (type) => {
    const kinds: readonly string[] = RESOURCE_TYPES[type];
    const entry = { type, id: 'res-1', access: [...kinds] };
    expect(policyEntrySchema.parse(entry)).toEqual(entry);
    const others = resourceTypes()
      .flatMap((t): readonly string[] => RESOURCE_TYPES[t])
      .filter((kind) => !kinds.includes(kind));
    for (const kind of [...others, 'own']) {
      expect(messageFor({ ...valid, policy: [{ type, id: 'a', access: [kind] }] })).toBe(
        `policy[0].access[0]: must be one of ${kinds.join(', ')}`,
      );
    }
  });

  it('refuses any other type, naming the ones there are', () => {
    const names = resourceTypes().map((type) => `"${type}"`);
    const expected =
      names.length === 1 ? `must be ${names[0]}` : `must be one of ${names.join(', ')}`;
    for (const type of ['tool', 'Agent', '', 1, undefined]) {
      expect(messageFor({ ...valid, policy: [{ type, id: 'a', access: ['read_agent'] }] })).toBe(
        `policy[0].type: ${expected}`,
      );
    }
  });

  // This package loads zod/mini without a locale, where an issue without a message of ours
  // would read "Invalid input": every refusal of a create request must say what is wrong.
  it('explains every refusal in its own words, whatever the input', () => {
    const anyEntry = fc.record(
      {
        type: fc.oneof(fc.constantFrom(...resourceTypes()), fc.jsonValue()),
        id: fc.oneof(fc.string({ maxLength: 3 }), fc.jsonValue()),
        access: fc.oneof(fc.array(fc.constantFrom('read_agent', 'own', 3)), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.record(
      {
        hostname: fc.oneof(fc.constant('https://a.example'), fc.jsonValue()),
        policy: fc.oneof(
          fc.array(fc.oneof(anyEntry, fc.jsonValue()), { maxLength: 3 }),
          fc.jsonValue(),
        ),
        expires_at: fc.oneof(fc.constant('2030-01-31T12:00:00Z'), fc.jsonValue()),
        other: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue()), (input) => {
        const parsed = parseCreateTokenRequest(input);
        if (parsed.ok) return;
        for (const issue of parsed.error) expect(issue.message).not.toMatch(/^Invalid input/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('policy and token record', () => {
  it('parses a create answer with the seconds it has left, and refuses one without', () => {
    const record = {
      token: 'ck-let-x',
      expiresAt: '2030-01-01T00:00:00.000Z',
      hostname: valid.hostname,
      policy: { version: '1', data: valid.policy },
    };
    expect(mintedTokenRecordSchema.parse({ ...record, expiresIn: 300 })).toEqual({
      ...record,
      expiresIn: 300,
    });
    for (const expiresIn of [undefined, -1, 1.5, '300']) {
      expect(mintedTokenRecordSchema.safeParse({ ...record, expiresIn }).success).toBe(false);
    }
  });

  it('parses a stored policy and Letta’s token record', () => {
    const policy = { version: '1', data: valid.policy };
    expect(policySchema.parse(policy)).toEqual(policy);
    const record = {
      token: 'ck-let-x',
      expiresAt: '2030-01-01T00:00:00.000Z',
      hostname: valid.hostname,
      policy,
    };
    expect(tokenRecordSchema.parse(record)).toEqual(record);
    expect(policySchema.safeParse({ version: '2', data: [] }).success).toBe(false);
  });
});
