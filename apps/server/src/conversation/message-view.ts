/** Messages as the Letta wire shows them, shared by REST, tRPC and the live stream. */
import type { messages } from '../db/schema.js';

export type MessageRow = typeof messages.$inferSelect;

/** What every message carries; `seq_id` doubles as the live stream's event id. */
interface MessageBase {
  id: string;
  date: string;
  otid: string | null;
  run_id: string;
  seq_id: number;
}

/** Messages without text content: `message.content` is then plainly undefined. */
interface NoContent extends MessageBase {
  content?: undefined;
}

/** Letta's `ToolCall`: the arguments are the model's JSON text, as it sent them. */
export interface ToolCall {
  name: string;
  arguments: string;
  tool_call_id: string;
}

/** A message in Letta's wire shape, with the fields the SDK declares for its type. */
export type LettaMessage =
  | (MessageBase & {
      message_type: 'user_message' | 'assistant_message' | 'system_message';
      content: string;
    })
  | (NoContent & {
      message_type: 'reasoning_message';
      reasoning: string;
      source: 'reasoner_model';
    })
  | (NoContent & {
      message_type: 'tool_call_message';
      tool_call: ToolCall;
      tool_calls: ToolCall[];
    })
  | (NoContent & {
      message_type: 'tool_return_message';
      name: string;
      status: 'success' | 'error';
      tool_call_id: string;
      tool_return: string;
      tool_returns: {
        tool_call_id: string;
        status: 'success' | 'error';
        tool_return: string;
        type: 'tool';
      }[];
    });

/**
 * Why a turn stopped, as Letta names it: `max_steps` when the model kept calling tools past
 * the turn's step limit, `cancelled` when a client stopped it.
 */
/** `error`: the turn ended without its own stop (its instance died mid-turn). */
export type StopReason = 'end_turn' | 'llm_api_error' | 'max_steps' | 'cancelled' | 'error';

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

/** The text a message shows a reader or a search: its content, reasoning, call or result. */
export function messageText(message: LettaMessage): string {
  switch (message.message_type) {
    case 'reasoning_message':
      return message.reasoning;
    case 'tool_call_message':
      return `${message.tool_call.name}(${message.tool_call.arguments})`;
    case 'tool_return_message':
      return message.tool_return;
    default:
      return message.content;
  }
}

export const toLettaMessage = (row: MessageRow): LettaMessage => {
  const base: MessageBase = {
    id: row.id,
    date: row.createdAt.toISOString(),
    otid: row.otid,
    run_id: row.runId,
    seq_id: row.seq,
  };
  const type = row.messageType;
  if (type === 'reasoning_message') {
    return { ...base, message_type: type, reasoning: row.content, source: 'reasoner_model' };
  }
  if (type === 'tool_call_message' || type === 'tool_return_message') {
    const tool = row.tool ?? { toolCallId: '', name: '' };
    if (type === 'tool_call_message') {
      const call = { name: tool.name, arguments: row.content, tool_call_id: tool.toolCallId };
      return { ...base, message_type: type, tool_call: call, tool_calls: [call] };
    }
    const status = tool.status ?? 'success';
    return {
      ...base,
      message_type: type,
      name: tool.name,
      status,
      tool_call_id: tool.toolCallId,
      tool_return: row.content,
      tool_returns: [
        { tool_call_id: tool.toolCallId, status, tool_return: row.content, type: 'tool' },
      ],
    };
  }
  return { ...base, message_type: type, content: row.content };
};
