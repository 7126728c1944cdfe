import { parseToken } from '@scopekit/policy';
import type { FastifyInstance } from 'fastify';
import { sendError } from './errors.js';
import { decodeAscii, TOKEN_PATTERN } from './redact.js';

export const CREDENTIAL_IN_URL_MESSAGE =
  'A credential in the URL is refused (proxies, load balancers and browsers keep URLs in their logs): send it in the Authorization header, as "Authorization: Bearer <token>"';

/**
 * Whether a request carries a bearer credential where it does not belong: a well-formed
 * token anywhere in its query string (percent-escapes decoded, as a route would read it), or
 * an `authorization` in tRPC's `connectionParams`, which travel in the URL of an SSE
 * subscription. Only tokens whose checksum holds count, so text that merely starts like one
 * (a search for "ck-let-", say) is not taken for a credential.
 */
export function carriesCredentialInUrl(
  url: string,
  connectionParams?: Record<string, unknown> | null,
): boolean {
  if (connectionParams && Object.keys(connectionParams).some((k) => /^authorization$/i.test(k)))
    return true;
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return false;
  const query = decodeAscii(url.slice(queryAt + 1));
  return [...query.matchAll(TOKEN_PATTERN)].some(([token]) => parseToken(token).ok);
}

/**
 * Refuses, on every route outside tRPC, a request with a credential in its query string:
 * it is never read from there, and an answer that ignored it would hide that it leaked.
 * tRPC refuses the same when it builds its context, in the error shape its clients read.
 */
export function refuseCredentialsInUrl(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/trpc/') || !carriesCredentialInUrl(request.url)) return;
    return sendError(reply.header('x-should-retry', 'false'), 401, CREDENTIAL_IN_URL_MESSAGE);
  });
}
