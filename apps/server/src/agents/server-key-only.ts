import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';

/**
 * What a client-side token may not do whatever access its policy grants. It lives in a
 * browser, so whoever holds it is the person at the keyboard, not the operator: an agent's
 * `model` picks what the operator is billed for, its `metadata` is the backend's own
 * bookkeeping, its `tool_ids` decide what it may do, its `identity_ids` say whose it is, and
 * a system or assistant message would rewrite the agent's instructions or
 * put words in its mouth. Checked after the input is parsed, so a malformed field is still a
 * 400 and a refused one a 403 naming it.
 */
export const SERVER_KEY_AGENT_FIELDS = ['model', 'metadata', 'tool_ids', 'identity_ids'] as const;

export function refuseServerKeyAgentFields(
  principal: Principal,
  change: Partial<Record<(typeof SERVER_KEY_AGENT_FIELDS)[number], unknown>>,
): void {
  if (principal.kind === 'apiKey') return;
  for (const field of SERVER_KEY_AGENT_FIELDS) {
    if (change[field] !== undefined) {
      throw new AppError(
        'FORBIDDEN',
        `only a server-side API key (sk-let-…) may change an agent's ${field}; a client-side token may not`,
        field,
      );
    }
  }
}

export function refuseNonUserMessages(
  principal: Principal,
  messages: { role?: string | undefined }[],
): void {
  if (principal.kind === 'apiKey') return;
  messages.forEach(({ role = 'user' }, i) => {
    if (role !== 'user') {
      throw new AppError(
        'FORBIDDEN',
        `a client-side token may send only user messages; a ${role} message needs a server-side API key (sk-let-…)`,
        `messages.${i}.role`,
      );
    }
  });
}
