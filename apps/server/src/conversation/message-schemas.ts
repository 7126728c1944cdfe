import { z } from 'zod';
import { pageLimit } from '../lib/page-limit.js';

/** Letta's `TextContent`; the SDK leaves `type` optional. */
const textPart = z.strictObject({
  type: z.literal('text').optional(),
  text: z.string(),
  signature: z.string().nullable().optional(),
});

/** Text, or text parts: the only content this server's agents read. */
export const messageContent = z.union([
  z.string(),
  z.array(textPart).min(1, 'must have at least one part'),
]);

/**
 * A message as Letta's `MessageCreate`: a role and text, or text parts. `otid` is the
 * client's id for it, and makes a resend of the same message refused rather than stored
 * twice. The batch, group and sender fields are accepted and ignored.
 */
export const messageCreateSchema = z.strictObject({
  role: z.enum(['user', 'system', 'assistant']).default('user'),
  content: messageContent,
  otid: z.string().min(1).max(200).nullable().optional(),
  batch_item_id: z.string().nullable().optional(),
  group_id: z.string().nullable().optional(),
  name: z.string().nullable().optional(),
  sender_id: z.string().nullable().optional(),
  type: z.literal('message').nullable().optional(),
});
export type MessageCreate = z.input<typeof messageCreateSchema>;

export const sendSchema = z.strictObject({
  messages: z.array(messageCreateSchema).min(1, 'must not be empty').max(20),
});

/** Every message type the Letta SDK names; this server stores the first three. */
export const LETTA_MESSAGE_TYPES = [
  'user_message',
  'assistant_message',
  'system_message',
  'reasoning_message',
  'hidden_reasoning_message',
  'tool_call_message',
  'tool_return_message',
  'approval_request_message',
  'approval_response_message',
  'summary_message',
  'event_message',
] as const;
export type LettaMessageType = (typeof LETTA_MESSAGE_TYPES)[number];
export const messageTypesSchema = z.array(z.enum(LETTA_MESSAGE_TYPES)).max(20);

export const messageListSchema = z.strictObject({
  before: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
  limit: pageLimit(1_000).default(100),
  order: z.enum(['asc', 'desc']).default('desc'),
  /** Only messages of these types; absent means all. */
  include_return_message_types: messageTypesSchema.optional(),
});
export type MessageListInput = z.input<typeof messageListSchema>;

/** Which runs a cancel may stop (Letta's `run_ids`); none given means whichever runs. */
export const runIdsSchema = z
  .array(z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'))
  .max(100, 'must hold at most 100 run ids')
  .nullish();
