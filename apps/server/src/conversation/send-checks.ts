import { and, desc, eq, gte, inArray, sql } from 'drizzle-orm';
import { type MessageType, messages } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { AppError } from '../errors.js';
import { parseInput } from '../lib/parse-input.js';
import { type MessageCreate, sendSchema } from './message-schemas.js';

const ROLE_TYPES: Record<MessageCreate['role'] & string, MessageType> = {
  user: 'user_message',
  system: 'system_message',
  assistant: 'assistant_message',
};

/** A message of a send that passed its checks: what will be stored. */
export interface SentMessage {
  type: MessageType;
  content: string;
  otid: string | null;
}

function contentText(content: MessageCreate['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** Checks what is sent before anything is stored or queued: a refused send changes nothing. */
export function validateSend(
  deps: Pick<ServiceDeps, 'limits'>,
  sent: MessageCreate[],
): SentMessage[] {
  const input = parseInput(sendSchema, { messages: sent });
  const max = deps.limits.messageMaxBytes;
  const otids = new Set<string>();
  return input.messages.map((m, i) => {
    if (m.otid) {
      if (otids.has(m.otid)) {
        throw new AppError(
          'BAD_REQUEST',
          'is given to two messages of this send',
          `messages.${i}.otid`,
        );
      }
      otids.add(m.otid);
    }
    const text = contentText(m.content);
    if (text.trim() === '')
      throw new AppError('BAD_REQUEST', 'must not be empty', `messages.${i}.content`);
    const bytes = Buffer.byteLength(text);
    if (bytes > max) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `is ${bytes} bytes; at most ${max} are allowed`,
        `messages.${i}.content`,
      );
    }
    return { type: ROLE_TYPES[m.role], content: text, otid: m.otid ?? null };
  });
}

/**
 * A client that resends a message with the same `otid` (the SDK retrying a send whose answer
 * it did not get) has it refused, not stored twice. Checked before the send is accepted, so
 * a streaming resend is refused before its stream opens, and again inside the agent's turn,
 * so two sends of the same message racing each other cannot both pass.
 */
export async function refuseResend(
  deps: Pick<ServiceDeps, 'db'>,
  agentId: string,
  sent: { otid: string | null }[],
) {
  const otids = sent.flatMap((m) => (m.otid ? [m.otid] : []));
  if (otids.length === 0) return;
  const [earlier] = await deps.db
    .select({ id: messages.id, otid: messages.otid })
    .from(messages)
    .where(and(eq(messages.agentId, agentId), inArray(messages.otid, otids)))
    .limit(1);
  if (earlier) {
    const index = sent.findIndex((m) => m.otid === earlier.otid);
    throw new AppError(
      'CONFLICT',
      `was already sent to this agent (stored as ${earlier.id}); it is not stored twice`,
      `messages.${index}.otid`,
      { shouldRetry: false },
    );
  }
}

/** A send the client says repeats an earlier attempt (see `sdkRetry` in the REST edge). */
export interface SdkRetry {
  /** Which retry: 1 for the first. */
  count: number;
  /** How long ago the first attempt can have been sent. */
  windowMs: number;
}

/**
 * The SDK resends a send whose answer did not come within its timeout (a turn longer than
 * 60 s), with the same body and, without an `otid`, nothing else to tell it from a new send;
 * queued behind the first attempt's turn, the retry stored the message a second time. A
 * retry whose messages are the agent's latest input, all of one turn and stored within the
 * time its attempts can span, repeats a send that got through: it is refused, not stored
 * twice. A new send of the same words is not a retry and is stored. Checked where
 * `refuseResend` is, for the same reasons.
 */
export async function refuseRetriedCopy(
  deps: Pick<ServiceDeps, 'db'>,
  agentId: string,
  sent: SentMessage[],
  retry: SdkRetry | undefined,
) {
  if (!retry || sent.length === 0 || sent.some((m) => m.otid)) return;
  const types = [...new Set(sent.map((m) => m.type))];
  const latest = await deps.db
    .select({
      id: messages.id,
      type: messages.messageType,
      content: messages.content,
      runId: messages.runId,
    })
    .from(messages)
    .where(
      and(
        eq(messages.agentId, agentId),
        inArray(messages.messageType, types),
        gte(messages.createdAt, sql`now() - make_interval(secs => ${retry.windowMs / 1000})`),
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(sent.length);
  latest.reverse();
  const first = latest[0];
  const same =
    first !== undefined &&
    latest.length === sent.length &&
    latest.every(
      (m, i) =>
        m.runId === first.runId && m.type === sent[i]?.type && m.content === sent[i]?.content,
    );
  if (!same) return;
  throw new AppError(
    'CONFLICT',
    `This send repeats a send already stored as ${first.id} (it is the SDK's retry ${retry.count} ` +
      "of one whose answer came too late); it is not stored twice, and the agent's reply is among its messages",
    undefined,
    { shouldRetry: false },
  );
}
