import { randomUUID } from 'node:crypto';

/** Letta-style prefixed ids: the prefix tells a reader (and a log) what kind of thing it is. */
export const newId = (
  prefix: 'org' | 'key' | 'tok' | 'agent' | 'user' | 'message' | 'run' | 'identity' | 'block',
) => `${prefix}-${randomUUID()}`;
