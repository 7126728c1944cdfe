import fc from 'fast-check';
import {
  type AccessRequest,
  type PolicyEntry,
  RESOURCE_TYPES,
  type ResourceType,
  resourceTypes,
} from '../src/index.js';

// A small id space makes collisions (same resource in several entries) common, which is
// where merging and narrowing can go wrong.
const ids = ['res-a', 'res-b', 'res-c', 'res-Z', 'res-ä'];
export const resourceId = fc.constantFrom(...ids);
export const resourceType = fc.constantFrom(...resourceTypes());
const accessOf = (type: ResourceType) => fc.constantFrom(...RESOURCE_TYPES[type]);

export const entry: fc.Arbitrary<PolicyEntry> = resourceType.chain((type) =>
  fc.record({
    type: fc.constant(type),
    id: resourceId,
    access: fc.array(accessOf(type), { maxLength: 6 }),
  }),
) as fc.Arbitrary<PolicyEntry>;

export const entries = fc.array(entry, { maxLength: 8 });

export const request: fc.Arbitrary<AccessRequest> = resourceType.chain((type) =>
  fc.record({ type: fc.constant(type), id: resourceId, access: accessOf(type) }),
) as fc.Arbitrary<AccessRequest>;

/** Every request over the id space, so "same answers" checks are exhaustive. */
export const allRequests = resourceTypes().flatMap((type) =>
  [...ids, 'res-none'].flatMap((id) =>
    RESOURCE_TYPES[type].map((access) => ({ type, id, access }) as AccessRequest),
  ),
);

/** The reference model: a grant is a (type, id, access) triple present in some entry. */
export const grants = (list: PolicyEntry[]) =>
  new Set(list.flatMap((e) => e.access.map((a) => `${e.type}|${e.id}|${a}`)));
