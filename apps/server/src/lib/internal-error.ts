/**
 * What a client is told of a failure it did not cause: a fixed sentence and the request id,
 * which the log line holding the cause carries too (`reqId`). Never the error's own message:
 * a failed query's holds its statement and parameters.
 */
export const internalErrorMessage = (requestId: string | undefined) =>
  requestId ? `Internal server error (request id ${requestId})` : 'Internal server error';
