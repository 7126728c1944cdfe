import { type Access, can } from '@scopekit/policy';
import { forbidden } from '../errors.js';
import type { ApiKeyPrincipal, Principal } from './principal.js';

/** Managing keys, tokens and agents is for the organization's backend, never for a browser. */
export function requireApiKey(principal: Principal): ApiKeyPrincipal {
  if (principal.kind !== 'apiKey') {
    throw forbidden(
      'This operation needs a server-side API key (sk-let-…); client-side tokens cannot use it',
    );
  }
  return principal;
}

/**
 * An API key may act on any agent of its organization (the service then checks the agent is
 * one); a client-side token only on what its policy grants.
 */
export function requireAgentAccess(principal: Principal, agentId: string, access: Access): void {
  if (principal.kind === 'apiKey') return;
  if (!can(principal.policy, { type: 'agent', id: agentId, access })) {
    throw forbidden(`This token does not grant ${access} on agent ${agentId}`);
  }
}
