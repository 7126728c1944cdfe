import {
  ACCESS_KINDS,
  type Access,
  type AccessRequest,
  type Policy,
  type PolicyEntry,
} from './access.js';

const entriesOf = (policy: Policy | PolicyEntry[]) =>
  Array.isArray(policy) ? policy : policy.data;

const keyOf = (entry: { type: string; id: string }) => `${entry.type}\u0000${entry.id}`;

/** Whether the policy grants `request.access` on the resource. */
export function can(policy: Policy | PolicyEntry[], request: AccessRequest): boolean {
  return entriesOf(policy).some(
    (entry) =>
      entry.type === request.type &&
      entry.id === request.id &&
      entry.access.includes(request.access),
  );
}

/**
 * The canonical form: one entry per resource, each access once in `ACCESS_KINDS` order,
 * entries sorted by type then id, empty entries dropped. Grants exactly what the input
 * grants, so stored and compared policies never depend on how a caller wrote them.
 */
export function normalizePolicy(policy: Policy | PolicyEntry[]): Policy {
  const merged = new Map<string, { type: PolicyEntry['type']; id: string; access: Set<Access> }>();
  for (const entry of entriesOf(policy)) {
    const key = keyOf(entry);
    let target = merged.get(key);
    if (!target) {
      target = { type: entry.type, id: entry.id, access: new Set() };
      merged.set(key, target);
    }
    for (const access of entry.access) target.access.add(access);
  }
  const data = [...merged.values()]
    .filter((entry) => entry.access.size > 0)
    .sort((a, b) => compare(a.type, b.type) || compare(a.id, b.id))
    .map((entry) => ({
      type: entry.type,
      id: entry.id,
      access: ACCESS_KINDS.filter((access) => entry.access.has(access)),
    }));
  return { version: '1', data };
}

/** What `requested` asks for and `grantable` allows: a token never gets more than its issuer may give. */
export function narrowPolicy(
  requested: Policy | PolicyEntry[],
  grantable: Policy | PolicyEntry[],
): Policy {
  const allowed = normalizePolicy(grantable);
  return normalizePolicy(
    entriesOf(requested).map((entry) => ({
      ...entry,
      access: entry.access.filter((access) =>
        can(allowed, { type: entry.type, id: entry.id, access }),
      ),
    })),
  );
}

/** Whether every grant of `inner` is also a grant of `outer`. */
export function isSubsetPolicy(
  inner: Policy | PolicyEntry[],
  outer: Policy | PolicyEntry[],
): boolean {
  return entriesOf(inner).every((entry) =>
    entry.access.every((access) => can(outer, { type: entry.type, id: entry.id, access })),
  );
}

/** The distinct agent ids a policy names, sorted. */
export function agentIdsOf(policy: Policy | PolicyEntry[]): string[] {
  const ids = new Set(
    entriesOf(policy)
      .filter((e) => e.type === 'agent')
      .map((e) => e.id),
  );
  return [...ids].sort(compare);
}

// Code-unit order, not locale order: the same on every machine.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
