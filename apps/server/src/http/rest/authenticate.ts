import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.js';
import { enforceRateLimit, verifyBearerWithinLimits } from '../../auth/rate-limit.js';
import { requestOrigin } from '../../auth/request-origin.js';
import type { ServiceDeps } from '../../deps.js';

export async function authenticate(deps: ServiceDeps, request: FastifyRequest): Promise<Principal> {
  const principal = await verifyBearerWithinLimits(
    deps,
    {
      authorization: request.headers.authorization,
      origin: requestOrigin(request.headers, { protocol: request.protocol, host: request.host }),
    },
    request.ip,
  );
  enforceRateLimit(deps, principal);
  return principal;
}

/**
 * A whole number in a query string: "", "2.5", "1e3" and "-0" are refused, not coerced. Its
 * limits are the service's, checked when the service parses its input.
 */
export const queryNumber = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number')
  .transform(Number);

/** A list in a query string: `?t=a&t=b` arrives as an array, `?t=a` as a string. */
export const queryList = z
  .union([z.string(), z.array(z.string())])
  .transform((t) => (Array.isArray(t) ? t : [t]));

/** A flag in a query string, as the SDK writes it: `true` or `false`, nothing else. */
export const queryBoolean = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');
