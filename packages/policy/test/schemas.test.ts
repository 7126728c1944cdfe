import { describe, expect, it } from 'vitest';
import {
  formatIssues,
  mintedTokenRecordSchema,
  parseCreateTokenRequest,
  policySchema,
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
    ['an unknown field, by name', { ...valid, scope: 'all' }, /scope/],
    [
      'a bad access kind, by position',
      { ...valid, policy: [{ type: 'agent', id: 'a', access: ['read_messages', 'own'] }] },
      /^policy\[0\]\.access\[1\]: must be one of read_messages, write_messages, read_agent, write_agent$/,
    ],
    [
      'a resource type',
      { ...valid, policy: [{ type: 'tool', id: 'a', access: ['read_agent'] }] },
      /^policy\[0\]\.type: must be "agent"$/,
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
