import {
  type AccessOf,
  can,
  isSubsetPolicy,
  normalizePolicy,
  type Policy,
  type PolicyEntry,
  RESOURCE_TYPES,
  type ResourceType,
} from '@scopekit/policy';
import { badRequest } from '../errors.js';

/**
 * Who asks for a client-side token. A token dies with its issuer (the key's revocation, the
 * session's log-out) and can only ever be given a subset of what its issuer may grant. No
 * issuer is the operator (the CLI), who may grant what an API key of the organization may.
 */
export type TokenIssuer =
  | { kind: 'apiKey'; apiKeyId: string }
  | { kind: 'session'; sessionIdHash: string; agentId: string };

/** What a log-in session may hand its browser: its user's agent, to chat with and to read, not to change. */
export const SESSION_ACCESS: readonly AccessOf<'agent'>[] = [
  'read_messages',
  'write_messages',
  'read_agent',
];

/** A resource a policy names, by type and id. */
export interface ResourceRef {
  type: ResourceType;
  id: string;
}

/**
 * What `issuer` may grant on `resources`, which must be its organization's: an API key (or
 * the operator) every access kind of each one's type; a session only its user's own agent,
 * with SESSION_ACCESS.
 */
export function grantablePolicy(
  issuer: TokenIssuer | undefined,
  resources: Iterable<ResourceRef>,
): Policy {
  const named = [...resources];
  if (issuer?.kind === 'session') {
    const own = named.some((r) => r.type === 'agent' && r.id === issuer.agentId);
    return normalizePolicy(
      own ? [{ type: 'agent', id: issuer.agentId, access: [...SESSION_ACCESS] }] : [],
    );
  }
  return normalizePolicy(
    named.map(({ type, id }) => ({ type, id, access: [...RESOURCE_TYPES[type]] }) as PolicyEntry),
  );
}

/**
 * Refuses a request for more than `grantable`, naming the first entry at fault by its place
 * in the policy as the caller wrote it (before normalisation merged or reordered entries).
 */
export function refuseBeyondGrant(
  requested: PolicyEntry[],
  grantable: Policy,
  issuer: TokenIssuer | undefined,
): void {
  if (isSubsetPolicy(requested, grantable)) return;
  const index = requested.findIndex((entry) => !isSubsetPolicy([entry], grantable));
  const entry = requested[index];
  if (!entry) return;
  if (!grantable.data.some((granted) => granted.type === entry.type && granted.id === entry.id)) {
    throw badRequest(
      issuer?.kind === 'session'
        ? `${entry.type} ${entry.id} is not your own ${entry.type}`
        : `${entry.type} ${entry.id} does not exist in your organization`,
      `policy[${index}].id`,
    );
  }
  const accessIndex = entry.access.findIndex(
    (access) => !can(grantable, { type: entry.type, id: entry.id, access }),
  );
  throw badRequest(
    `a log-in session may grant only ${SESSION_ACCESS.join(', ')} on its user's agent, not ${entry.access[accessIndex]}`,
    `policy[${index}].access[${accessIndex}]`,
  );
}
