import { z } from 'zod';

/**
 * Letta's `limit` of a list page: a whole number from 1 to `max` (each list has its own
 * ceiling and default), refused with a message naming the bound it broke.
 */
export const pageLimit = (max: number) =>
  z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`);
