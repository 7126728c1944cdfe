import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';

/** The TRPCError a caller's promise rejects with; the test fails if it resolves or rejects otherwise. */
export async function trpcError(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}
