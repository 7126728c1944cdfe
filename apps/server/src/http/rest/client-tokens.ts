import {
  formatIssues,
  type MintedTokenRecord,
  parseCreateTokenRequest,
  type TokenRecord,
} from '@scopekit/policy';
import type { FastifyInstance } from 'fastify';
import { requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { badRequest } from '../../errors.js';
import { parseInput } from '../../lib/parse-input.js';
import { clientTokenPageSchema, listClientTokens } from '../../tokens/client-token-listing.js';
import { revokeClientTokenByValue } from '../../tokens/client-token-revocation.js';
import {
  type ClientTokenSummary,
  type ClientTokenView,
  mintClientToken,
} from '../../tokens/client-tokens.js';
import { authenticate, queryNumber } from './authenticate.js';

/** The service's page, with a query string's numbers as text (the service holds them to its limits). */
const listQuery = clientTokenPageSchema.extend({
  limit: queryNumber.default(10),
  offset: queryNumber.default(0),
});

/** Letta's response shape: camelCase, and only what the SDK types. */
const toLetta = (token: ClientTokenSummary & { token: string }): TokenRecord => ({
  token: token.token,
  expiresAt: token.expiresAt,
  hostname: token.hostname,
  policy: token.policy,
});

/**
 * Letta's `AccessToken.token` is a string, so a token whose value no configured key opens
 * is left out of the REST list (with a warning logged); it still works until it expires, and
 * tRPC `tokens.list` shows it, without its value, to revoke by id.
 */
const hasValue = (token: ClientTokenView): token is ClientTokenView & { token: string } =>
  token.token !== null;

/** `POST|GET /v1/client-side-access-tokens`, `DELETE /v1/client-side-access-tokens/:token`. */
export function registerClientTokenRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.post('/v1/client-side-access-tokens', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const parsed = parseCreateTokenRequest(request.body ?? {});
    if (!parsed.ok) throw badRequest(formatIssues(parsed.error));
    const minted = await mintClientToken(deps, {
      organizationId: principal.organizationId,
      issuer: { kind: 'apiKey', apiKeyId: principal.apiKeyId },
      hostname: parsed.value.hostname,
      policy: parsed.value.policy,
      expiresAt: parsed.value.expires_at,
    });
    const body: MintedTokenRecord = { ...toLetta(minted), expiresIn: minted.expiresIn };
    return reply.status(201).send(body);
  });

  app.get('/v1/client-side-access-tokens', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const query = parseInput(listQuery, request.query);
    const page = await listClientTokens(deps, {
      organizationId: principal.organizationId,
      ...query,
      log: request.log,
    });
    return { hasNextPage: page.hasNextPage, tokens: page.tokens.filter(hasValue).map(toLetta) };
  });

  app.delete<{ Params: { token: string } }>(
    '/v1/client-side-access-tokens/:token',
    async (request, reply) => {
      const principal = requireApiKey(await authenticate(deps, request));
      await revokeClientTokenByValue(deps, {
        organizationId: principal.organizationId,
        token: request.params.token,
      });
      return reply.status(204).send();
    },
  );
}
