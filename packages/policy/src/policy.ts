import {
  type AccessRequest,
  type Policy,
  type PolicyEntry,
  RESOURCE_TYPES,
  type ResourceType,
} from './resources.js';

/** An entry as the functions below read it, whatever its type. */
interface LooseEntry {
  type: ResourceType;
  id: string;
  access: readonly string[];
}

const entriesOf = (policy: Policy | PolicyEntry[]): readonly LooseEntry[] =>
  Array.isArray(policy) ? policy : policy.data;

const keyOf = (entry: { type: string; id: string }) => `${entry.type}\u0000${entry.id}`;

function grants(entries: readonly LooseEntry[], type: string, id: string, access: string) {
  return entries.some(
    (entry) => entry.type === type && entry.id === id && entry.access.includes(access),
  );
}

/** Whether the policy grants `request.access` on the resource. */
export function can<T extends ResourceType>(
  policy: Policy | PolicyEntry[],
  request: AccessRequest<T>,
): boolean {
  return grants(entriesOf(policy), request.type, request.id, request.access);
}

/**
 * The canonical form: one entry per resource, each access once in the order `RESOURCE_TYPES`
 * lists it for the entry's type (anything else dropped), entries sorted by type then id,
 * empty entries dropped. Grants exactly what the input grants, so stored and compared
 * policies never depend on how a caller wrote them.
 */
export function normalizePolicy(policy: Policy | PolicyEntry[]): Policy {
  const merged = new Map<string, { type: ResourceType; id: string; access: Set<string> }>();
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
    .map((entry) => ({
      type: entry.type,
      id: entry.id,
      access: (RESOURCE_TYPES[entry.type] ?? []).filter((access) => entry.access.has(access)),
    }))
    .filter((entry) => entry.access.length > 0)
    .sort((a, b) => compare(a.type, b.type) || compare(a.id, b.id));
  // Each entry's access list was drawn from its own type's kinds just above.
  return { version: '1', data: data as PolicyEntry[] };
}

/** What `requested` asks for and `grantable` allows: a token never gets more than its issuer may give. */
export function narrowPolicy(
  requested: Policy | PolicyEntry[],
  grantable: Policy | PolicyEntry[],
): Policy {
  const allowed = entriesOf(normalizePolicy(grantable));
  const narrowed = entriesOf(requested).map((entry) => ({
    ...entry,
    access: entry.access.filter((access) => grants(allowed, entry.type, entry.id, access)),
  }));
  return normalizePolicy(narrowed as PolicyEntry[]);
}

/** Whether every grant of `inner` is also a grant of `outer`. */
export function isSubsetPolicy(
  inner: Policy | PolicyEntry[],
  outer: Policy | PolicyEntry[],
): boolean {
  const outerEntries = entriesOf(outer);
  return entriesOf(inner).every((entry) =>
    entry.access.every((access) => grants(outerEntries, entry.type, entry.id, access)),
  );
}

/** The distinct ids of resources of `type` that a policy names, sorted. */
export function resourceIdsOf(policy: Policy | PolicyEntry[], type: ResourceType): string[] {
  const ids = new Set(
    entriesOf(policy)
      .filter((e) => e.type === type)
      .map((e) => e.id),
  );
  return [...ids].sort(compare);
}

// Code-unit order, not locale order: the same on every machine.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
