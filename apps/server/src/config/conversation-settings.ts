// Conversation turns: how large a message may be, how much history the model sees, and how
// long and how many steps a turn may take.
import { z } from 'zod';

export const conversationSettings = z.object({
  /** Largest message a user may send, in bytes of UTF-8. */
  SCOPEKIT_MESSAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024),
  /** How many earlier messages the model sees each turn. */
  SCOPEKIT_HISTORY_WINDOW: z.coerce.number().int().min(1).max(1_000).default(20),
  /**
   * A turn whose model goes quiet this long between pieces (or before the first), or that
   * runs this long in all, is stopped with llm_api_error: it would hold its agent meanwhile.
   */
  SCOPEKIT_TURN_IDLE_TIMEOUT_SECONDS: z.coerce.number().positive().max(3_600).default(60),
  SCOPEKIT_TURN_TIMEOUT_SECONDS: z.coerce.number().positive().max(86_400).default(300),
  /** Model steps in one turn (each tool call's result is read in a further step). */
  SCOPEKIT_TURN_MAX_STEPS: z.coerce.number().int().min(1).max(100).default(10),
});

export interface ConversationConfig {
  messageMaxBytes: number;
  historyWindow: number;
  turnIdleTimeoutMs: number;
  turnTimeoutMs: number;
  turnMaxSteps: number;
}

export function conversationConfig(e: z.infer<typeof conversationSettings>): ConversationConfig {
  return {
    messageMaxBytes: e.SCOPEKIT_MESSAGE_MAX_BYTES,
    historyWindow: e.SCOPEKIT_HISTORY_WINDOW,
    turnIdleTimeoutMs: e.SCOPEKIT_TURN_IDLE_TIMEOUT_SECONDS * 1000,
    turnTimeoutMs: e.SCOPEKIT_TURN_TIMEOUT_SECONDS * 1000,
    turnMaxSteps: e.SCOPEKIT_TURN_MAX_STEPS,
  };
}
