import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  can,
  isSubsetPolicy,
  narrowPolicy,
  normalizePolicy,
  RESOURCE_TYPES,
  resourceIdsOf,
} from '../src/index.js';
import { allRequests, entries, grants, request } from './arbitraries.js';

const key = (r: { type: string; id: string; access: string }) => `${r.type}|${r.id}|${r.access}`;

describe('can', () => {
  it('agrees with the reference model', () => {
    fc.assert(
      fc.property(entries, request, (list, r) => {
        expect(can({ version: '1', data: list }, r)).toBe(grants(list).has(key(r)));
      }),
    );
  });

  it('grants nothing on an agent the policy does not name', () => {
    const policy = normalizePolicy([
      { type: 'agent', id: 'agent-a', access: [...RESOURCE_TYPES.agent] },
    ]);
    expect(can(policy, { type: 'agent', id: 'agent-b', access: 'read_messages' })).toBe(false);
    expect(can(policy, { type: 'agent', id: 'agent-a', access: 'write_agent' })).toBe(true);
  });
});

describe('normalizePolicy', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const once = normalizePolicy(list);
        expect(normalizePolicy(once)).toEqual(once);
      }),
    );
  });

  it('never widens nor narrows: the same answer for every request', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const normal = normalizePolicy(list);
        for (const r of allRequests) expect(can(normal, r)).toBe(can(list, r));
      }),
    );
  });

  it('yields one entry per resource, sorted, with access deduplicated in its type’s order', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const { version, data } = normalizePolicy(list);
        expect(version).toBe('1');
        const keys = data.map((e) => `${e.type}\u0000${e.id}`);
        expect(keys).toEqual([...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        for (const e of data) {
          const kinds: readonly string[] = RESOURCE_TYPES[e.type];
          expect(e.access.length).toBeGreaterThan(0);
          expect(e.access).toEqual(kinds.filter((a) => (e.access as string[]).includes(a)));
        }
      }),
    );
  });

  it('merges entries for the same agent', () => {
    expect(
      normalizePolicy([
        { type: 'agent', id: 'b', access: ['write_agent'] },
        { type: 'agent', id: 'a', access: ['read_agent', 'read_messages'] },
        { type: 'agent', id: 'b', access: ['read_messages', 'write_agent'] },
        { type: 'agent', id: 'c', access: [] },
      ]),
    ).toEqual({
      version: '1',
      data: [
        { type: 'agent', id: 'a', access: ['read_messages', 'read_agent'] },
        { type: 'agent', id: 'b', access: ['read_messages', 'write_agent'] },
      ],
    });
  });
});

describe('narrowPolicy and isSubsetPolicy', () => {
  it('narrowing yields exactly the intersection of grants', () => {
    fc.assert(
      fc.property(entries, entries, (requested, grantable) => {
        const narrowed = normalizePolicy(narrowPolicy(requested, grantable));
        const expected = [...grants(requested)].filter((g) => grants(grantable).has(g));
        expect([...grants(narrowed.data)].sort()).toEqual(expected.sort());
        expect(isSubsetPolicy(narrowed, requested)).toBe(true);
        expect(isSubsetPolicy(narrowed, grantable)).toBe(true);
      }),
    );
  });

  it('a policy is a subset of another exactly when all its grants are there', () => {
    fc.assert(
      fc.property(entries, entries, (inner, outer) => {
        const expected = [...grants(inner)].every((g) => grants(outer).has(g));
        expect(isSubsetPolicy(inner, outer)).toBe(expected);
      }),
    );
  });

  it('lists the distinct ids of one type that a policy names', () => {
    expect(
      resourceIdsOf(
        [
          { type: 'agent', id: 'b', access: ['read_agent'] },
          { type: 'agent', id: 'a', access: ['read_agent'] },
          { type: 'agent', id: 'b', access: ['write_agent'] },
        ],
        'agent',
      ),
    ).toEqual(['a', 'b']);
  });
});
