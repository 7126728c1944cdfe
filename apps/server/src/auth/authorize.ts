import { type AccessOf, can, type ResourceType } from '@scopekit/policy';
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
 * An API key may act on any resource of its organization (the service then checks the
 * resource is one); a client-side token only on what its policy grants.
 */
export function requireAccess<T extends ResourceType>(
  principal: Principal,
  type: T,
  id: string,
  access: AccessOf<T>,
): void {
  if (principal.kind === 'apiKey') return;
  if (!can(principal.policy, { type, id, access })) {
    throw forbidden(`This token does not grant ${access} on ${type} ${id}`);
  }
}
