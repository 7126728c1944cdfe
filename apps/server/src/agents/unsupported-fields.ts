import { z } from 'zod';

/**
 * Letta fields for features this server does not have (tools, sources, identities, model
 * overrides). They are accepted when they ask for nothing, as typed SDK code often sends
 * them empty; with content they are refused, since ignoring them would silently drop what
 * the caller asked for.
 */
export const emptyList = z
  .array(z.unknown())
  .max(0, 'is not supported by this server; only an empty list is accepted')
  .nullable()
  .optional();

export const emptyMap = z
  .record(z.string(), z.unknown())
  .refine((m) => Object.keys(m).length === 0, {
    message: 'is not supported by this server; only an empty object is accepted',
  })
  .nullable()
  .optional();

export const nullOnly = z
  .null({ error: 'is not supported by this server; only null is accepted' })
  .optional();
