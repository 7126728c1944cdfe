import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionCookieWriter, SessionTransport } from '../trpc/context.js';

/**
 * With Secure set (production), the `__Host-` prefix makes the browser refuse the cookie
 * unless it is Secure, host-only and for path `/`, so a sibling subdomain cannot plant one.
 */
export const sessionCookieName = (secure: boolean) =>
  secure ? '__Host-scopekit_session' : 'scopekit_session';

/** The session half of a tRPC context, from a Fastify request and reply (@fastify/cookie). */
export function sessionTransport(
  request: FastifyRequest,
  reply: FastifyReply,
  secure: boolean,
): SessionTransport {
  const name = sessionCookieName(secure);
  const sessionCookie: SessionCookieWriter = {
    set: (sessionId, expiresAt) =>
      reply.setCookie(name, sessionId, {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/',
        expires: expiresAt,
      }),
    clear: () => reply.clearCookie(name, { httpOnly: true, sameSite: 'lax', secure, path: '/' }),
  };
  return {
    server: { protocol: request.protocol, host: request.host },
    requestId: request.id,
    sessionId: request.cookies[name],
    clientAddress: request.ip,
    sessionCookie,
    log: request.log,
  };
}
