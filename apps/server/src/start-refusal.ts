/**
 * A reason not to start (the data folder is in use, a setting is missing or wrong): the server
 * and the CLI print its message as one line and exit non-zero, without a stack trace, since
 * the fix is the operator's and the message says it.
 */
export class StartRefusal extends Error {
  override readonly name = 'StartRefusal';
}
