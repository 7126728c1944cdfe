import {
  type AccessOf,
  formatIssues,
  type IssueList,
  type ResourceType,
  toValidationIssues,
} from '@scopekit/policy';
import { initTRPC, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { isWebOrigin, resolveSession } from '../accounts/sessions.js';
import { requireAccess, requireApiKey } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import { enforceRateLimit, verifyBearerWithinLimits } from '../auth/rate-limit.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, forbidden, RetryLaterError, sessionEnded } from '../errors.js';
import { PING_MS } from '../http/sse.js';
import { internalErrorMessage } from '../lib/internal-error.js';
import { refuseUnstorable } from '../lib/parse-input.js';
import type { Context } from './context.js';

const t = initTRPC.context<Context>().create({
  // Never in development mode: error responses must not carry stack traces, in any environment.
  isDev: false,
  // A live stream is quiet between turns; proxies and load balancers cut idle responses.
  sse: { ping: { enabled: true, intervalMs: PING_MS } },
  // An unexpected error's message is its cause's (a failed query's statement and parameters):
  // the client gets a fixed one and the request id that the log line of the cause carries.
  // A refusal that passes with time carries its wait, which a subscription's refusal (sent
  // in its stream, after the headers) cannot give as Retry-After.
  errorFormatter: ({ shape, error, ctx }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR')
      return { ...shape, message: internalErrorMessage(ctx?.requestId) };
    if (error.cause instanceof RetryLaterError)
      return {
        ...shape,
        data: { ...shape.data, retryAfterSeconds: error.cause.retryAfterSeconds },
      };
    return shape;
  },
});

/** tRPC validates inputs through Standard Schema; its failure carries `issues` with paths. */
const hasIssues = (cause: unknown): cause is IssueList =>
  typeof cause === 'object' && cause !== null && 'issues' in cause && Array.isArray(cause.issues);

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Services throw `AppError`; this is where it becomes a tRPC error. Input errors are reworded
 * too, as "field: problem" rather than a JSON dump of the issues. Anything else is left to
 * tRPC: a 500 without details.
 */
export function toTRPCError(cause: unknown): TRPCError | undefined {
  if (cause instanceof TRPCError) return cause;
  if (cause instanceof AppError)
    return new TRPCError({ code: cause.code, message: cause.message, cause });
  if (isDatabaseUnavailable(cause)) {
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: DATABASE_UNAVAILABLE_MESSAGE,
      cause,
    });
  }
  if (hasIssues(cause)) {
    return new TRPCError({
      code: 'BAD_REQUEST',
      message: formatIssues(toValidationIssues(cause)),
      cause,
    });
  }
  return undefined;
}

/** A middleware's failed result with its cause mapped as `toTRPCError` says, if it says. */
function mapFailure<R extends { ok: boolean; error?: TRPCError }>(result: R): R {
  if (result.ok || !result.error) return result;
  const mapped = toTRPCError(result.error.cause);
  if (mapped) throw mapped;
  return result;
}

/**
 * The one middleware of every procedure that takes input or a credential: values the
 * database would refuse are 400s naming the field, before any check or query; then `check`
 * (the credential, its limits and its grants), whose result joins the context; and every
 * failure, the resolver's included, leaves as `toTRPCError` maps it. One, not one per
 * concern: tRPC copies the call's options and context for each middleware, which was most
 * of what authentication cost a cheap call.
 */
function guard<Extra extends object>(
  check: (ctx: Context, rawInput: unknown) => Extra | Promise<Extra>,
) {
  return t.middleware(async ({ ctx, getRawInput, next }) => {
    let extra: Extra;
    try {
      const rawInput = await getRawInput();
      refuseUnstorable(rawInput);
      const checked = check(ctx, rawInput);
      // A steady client's credential is checked without a wait: no hop through the queue.
      extra = checked instanceof Promise ? await checked : checked;
    } catch (cause) {
      throw toTRPCError(cause) ?? cause;
    }
    return mapFailure(await next({ ctx: extra }));
  });
}

const NOTHING = Object.freeze({});

export const publicProcedure = t.procedure.use(guard(() => NOTHING));

/**
 * `then(value, arg)` at once, or once `value` settles if it is a promise: the checks of a
 * credential the cache holds (every request of a steady client) run without a wait, and
 * with no closure made per request.
 */
function andThen<T, A, R>(
  value: T | Promise<T>,
  then: (value: T, arg: A) => R,
  arg: A,
): R | Promise<R> {
  return value instanceof Promise ? value.then((settled) => then(settled, arg)) : then(value, arg);
}

function counted(principal: Principal, deps: Context['deps']): Principal {
  enforceRateLimit(deps, principal);
  return principal;
}

/** The caller's credential, verified within the failure limits, and its request counted. */
function authenticate(ctx: Context): Principal | Promise<Principal> {
  // The context carries the Authorization and Origin headers that verification reads.
  return andThen(verifyBearerWithinLimits(ctx.deps, ctx, ctx.clientAddress), counted, ctx.deps);
}

const asPrincipal = (principal: Principal) => ({ principal });
const asApiKey = (principal: Principal) => ({ principal: requireApiKey(principal) });

export const authedProcedure = t.procedure.use(
  guard((ctx) => andThen(authenticate(ctx), asPrincipal, undefined)),
);

export const apiKeyProcedure = t.procedure.use(
  guard((ctx) => andThen(authenticate(ctx), asApiKey, undefined)),
);

const RESOURCE_ID_MAX = 200;

export const resourceIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(RESOURCE_ID_MAX, `must be at most ${RESOURCE_ID_MAX} characters`);

/** What `resourceIdSchema` accepts, checked without building a parse result. */
const isResourceId = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= RESOURCE_ID_MAX;

/**
 * Procedures on one resource of `type` (a type of the policy's RESOURCE_TYPES): the input
 * names it as `<type>Id`, and the caller must hold `access` on it.
 */
export function resourceProcedure<T extends ResourceType>(type: T) {
  const idKey = `${type}Id` as const;
  const input = z.object({ [idKey]: resourceIdSchema } as Record<
    typeof idKey,
    typeof resourceIdSchema
  >);
  return (access: AccessOf<T>) => {
    // Checked in the same middleware, on the raw input: an id the input schema would refuse
    // is left to it (a 400, so nothing is reached without the grant).
    const granted = (principal: Principal, rawInput: unknown) => {
      const id =
        typeof rawInput === 'object' && rawInput !== null
          ? (rawInput as Record<string, unknown>)[idKey]
          : undefined;
      if (isResourceId(id)) requireAccess(principal, type, id, access);
      return { principal };
    };
    return t.procedure
      .use(guard((ctx, rawInput) => andThen(authenticate(ctx), granted, rawInput)))
      .input(input);
  };
}

/** A procedure on one agent: its input names `agentId`, and the caller must hold `access` on it. */
export const agentProcedure = resourceProcedure('agent');

/**
 * Cookie-authenticated calls are accepted only from the web app's own origins (when the
 * browser names one): SameSite=Lax already keeps cross-site requests from carrying the
 * cookie, and this also stops a same-site neighbour (another port, a sibling subdomain).
 */
export const webProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.origin !== undefined && !isWebOrigin(ctx.deps.accounts.webOrigins, ctx.origin)) {
    throw forbidden(
      `Origin ${ctx.origin} is not one of the web app's origins (SCOPEKIT_WEB_ORIGINS)`,
    );
  }
  return next();
});

/** A logged-in user, from the session cookie. */
export const sessionProcedure = webProcedure.use(async ({ ctx, next }) => {
  const session = ctx.sessionId
    ? await resolveSession(ctx.deps, { sessionId: ctx.sessionId })
    : null;
  if (!session) throw sessionEnded();
  return next({ ctx: { session } });
});

export const adminProcedure = sessionProcedure.use(({ ctx, next }) => {
  if (ctx.session.user.role !== 'admin') throw forbidden('This needs an administrator');
  return next();
});
