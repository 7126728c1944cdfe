/** Messages as the Letta wire shows them, shared by REST, tRPC and the live stream. */
import type { MessageType, messages } from '../db/schema.js';

export type MessageRow = typeof messages.$inferSelect;

/** A message in Letta's wire shape; `seq_id` doubles as the live stream's event id. */
export interface LettaMessage {
  id: string;
  date: string;
  message_type: MessageType;
  content: string;
  otid: string | null;
  run_id: string;
  seq_id: number;
}

export type StopReason = 'end_turn' | 'llm_api_error';

export interface LettaResponse {
  messages: LettaMessage[];
  stop_reason: { message_type: 'stop_reason'; stop_reason: StopReason; error?: string };
  usage: {
    message_type: 'usage_statistics';
    completion_tokens: number;
    prompt_tokens: number;
    total_tokens: number;
    step_count: number;
  };
}

export const toLettaMessage = (row: MessageRow): LettaMessage => ({
  id: row.id,
  date: row.createdAt.toISOString(),
  message_type: row.messageType,
  content: row.content,
  otid: row.otid,
  run_id: row.runId,
  seq_id: row.seq,
});
