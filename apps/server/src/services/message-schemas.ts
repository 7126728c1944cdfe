import { z } from 'zod';

const content = z.union([
  z.string(),
  z
    .array(z.strictObject({ type: z.literal('text'), text: z.string() }))
    .min(1, 'must have at least one part'),
]);

/** A message as Letta's `MessageCreate`: a role and text, or text parts. */
export const messageCreateSchema = z.object({
  role: z.enum(['user', 'system', 'assistant']).default('user'),
  content,
  otid: z.string().min(1).max(200).optional(),
});
export type MessageCreate = z.input<typeof messageCreateSchema>;

export const sendSchema = z.object({
  messages: z.array(messageCreateSchema).min(1, 'must not be empty').max(20),
});

export const messageListSchema = z.strictObject({
  before: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
  limit: z
    .number()
    .int()
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(100),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type MessageListInput = z.input<typeof messageListSchema>;
