import fc from 'fast-check';
import { ACCESS_KINDS, type AccessRequest, type PolicyEntry } from '../src/index.js';

// A small id space makes collisions (same agent in several entries) common, which is
// where merging and narrowing can go wrong.
export const agentId = fc.constantFrom('agent-a', 'agent-b', 'agent-c', 'agent-Z', 'agent-ä');
export const access = fc.constantFrom(...ACCESS_KINDS);

export const entry: fc.Arbitrary<PolicyEntry> = fc.record({
  type: fc.constant('agent' as const),
  id: agentId,
  access: fc.array(access, { maxLength: 6 }),
});

export const entries = fc.array(entry, { maxLength: 8 });

export const request: fc.Arbitrary<AccessRequest> = fc.record({
  type: fc.constant('agent' as const),
  id: agentId,
  access,
});

/** Every request over the id space, so "same answers" checks are exhaustive. */
export const allRequests: AccessRequest[] = [
  'agent-a',
  'agent-b',
  'agent-c',
  'agent-Z',
  'agent-ä',
  'agent-none',
].flatMap((id) => ACCESS_KINDS.map((a) => ({ type: 'agent' as const, id, access: a })));

/** The reference model: a grant is a (type, id, access) triple present in some entry. */
export const grants = (list: PolicyEntry[]) =>
  new Set(list.flatMap((e) => e.access.map((a) => `${e.type}|${e.id}|${a}`)));
