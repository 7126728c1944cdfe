import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCode } from '../db/error-code.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, HTTP_STATUS, RetryLaterError } from '../errors.js';
import { internalErrorMessage } from '../lib/internal-error.js';
import { answerOversizedBody } from './oversized-body.js';
import { applySecurityHeaders } from './security-headers.js';

/** Every error body has `error` (the status text) and `message`: the Letta SDK shows `message`. */
export interface ErrorBody {
  error: string;
  message: string;
}

export function errorBody(status: number, message: string): ErrorBody {
  return { error: STATUS_CODES[status] ?? 'Error', message };
}

export function sendError(reply: FastifyReply, status: number, message: string) {
  return reply.status(status).type('application/json').send(errorBody(status, message));
}

/**
 * One mapping for everything a route can throw: our `AppError`s, Fastify's own 4xx (bad
 * JSON, oversized body, wrong content type) and anything unexpected, which is logged and
 * answered without its details.
 */
export function handleError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof RetryLaterError)
    reply.header('retry-after', String(error.retryAfterSeconds));
  if (error instanceof AppError) {
    if (!error.shouldRetry) reply.header('x-should-retry', 'false');
    return sendError(reply, HTTP_STATUS[error.code], error.message);
  }
  if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return answerOversizedBody(request, reply);
  const status =
    'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) return sendError(reply, status, error.message);
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ code: errorCode(error) }, 'database unavailable');
    return sendError(
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS)),
      503,
      DATABASE_UNAVAILABLE_MESSAGE,
    );
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 500, internalErrorMessage(request.id));
}

/**
 * Fastify's router refuses some URLs before any hook runs: a percent-encoding that does not
 * decode, a path segment over `maxParamLength`. They get the same headers and body shape as
 * every other answer, and a message that does not echo the URL (it may hold a token).
 */
export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  applySecurityHeaders(reply.raw, request.url.split('?')[0] ?? '');
  if (error.code === 'FST_ERR_BAD_URL')
    return sendError(reply, 400, 'Malformed URL: a percent-encoded sequence does not decode');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return sendError(reply, 414, `A path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  // Only the code: a framework error's message may quote the URL, and so a token in it.
  request.log.error({ code: error.code }, 'routing error');
  return sendError(reply, 500, internalErrorMessage(request.id));
}

/** What a 503 for an unreachable database tells a client to wait, on REST and tRPC alike. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** Longest path segment the router matches (a token in Letta's revoke path is well under). */
export const MAX_PARAM_LENGTH = 200;
