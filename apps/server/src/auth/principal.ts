import type { Policy } from '@scopekit/policy';

/** Who is asking, after the credential has been checked; handlers only ever see one of these. */
export type Principal = ApiKeyPrincipal | ClientTokenPrincipal;

export interface ApiKeyPrincipal {
  kind: 'apiKey';
  organizationId: string;
  apiKeyId: string;
}

export interface ClientTokenPrincipal {
  kind: 'clientToken';
  organizationId: string;
  tokenId: string;
  policy: Policy;
  hostname: string;
  expiresAt: Date;
}
