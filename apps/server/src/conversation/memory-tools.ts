import { and, desc, eq, ilike, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { ToolSpec } from '../agent-runtime/runtime.js';
import { charCount, MEMORY_BLOCK_MAX_CHARS } from '../agents/agent-schemas.js';
import { editMemoryBlock } from '../agents/agents.js';
import type { Database } from '../db/client.js';
import { type MemoryBlock, messages } from '../db/schema.js';

/**
 * Letta's base memory tools, as the agent's model is offered them. Start here to give agents
 * another tool: a spec below and a case in runTool. A bad call is answered with an error
 * result the model reads, never a failed turn.
 */
export const MEMORY_TOOLS: ToolSpec[] = [
  {
    name: 'memory_insert',
    description:
      'Insert text into one of your memory blocks, at a line number (0 is the top) or at the end (-1, the default).',
    parameters: object(
      {
        label: { type: 'string', description: 'The label of the block, e.g. "human".' },
        new_str: { type: 'string', description: 'The text to insert.' },
        insert_line: { type: 'integer', description: 'The line to insert at; -1 for the end.' },
      },
      ['label', 'new_str'],
    ),
  },
  {
    name: 'memory_replace',
    description:
      'Replace text in one of your memory blocks: old_str must appear in it exactly once.',
    parameters: object(
      {
        label: { type: 'string', description: 'The label of the block.' },
        old_str: { type: 'string', description: 'The exact text to replace.' },
        new_str: { type: 'string', description: 'The text to put in its place.' },
      },
      ['label', 'old_str', 'new_str'],
    ),
  },
  {
    name: 'memory_rethink',
    description: 'Rewrite one of your memory blocks whole, replacing all it held.',
    parameters: object(
      {
        label: { type: 'string', description: 'The label of the block.' },
        new_memory: { type: 'string', description: "The block's new content." },
      },
      ['label', 'new_memory'],
    ),
  },
  {
    name: 'conversation_search',
    description: 'Search your past conversation for messages containing some text.',
    parameters: object(
      {
        query: { type: 'string', description: 'The text to look for (case-insensitive).' },
        limit: {
          type: 'integer',
          description: 'Most results, newest first (default 5, at most 50).',
        },
      },
      ['query'],
    ),
  },
];

function object(properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** Names of the tools that change memory: a client shows their results as memory edits. */
export const MEMORY_EDIT_TOOLS = new Set(['memory_insert', 'memory_replace', 'memory_rethink']);

const argumentSchemas = {
  memory_insert: z.strictObject({
    label: z.string(),
    new_str: z.string(),
    insert_line: z.number().int().min(-1).default(-1),
  }),
  memory_replace: z.strictObject({
    label: z.string(),
    old_str: z.string().min(1),
    new_str: z.string(),
  }),
  memory_rethink: z.strictObject({ label: z.string(), new_memory: z.string() }),
  conversation_search: z.strictObject({
    query: z.string().trim().min(1),
    limit: z.number().int().min(1).max(50).default(5),
  }),
};
type ToolName = keyof typeof argumentSchemas;

/** A call the tool refuses; its message is the error result the model reads. */
class ToolRefusal extends Error {}

export interface ToolOutcome {
  status: 'success' | 'error';
  result: string;
}

/**
 * Runs one tool call of the agent inside `tx`, the transaction that stores the call and its
 * result, so a memory edit and the messages recording it are written together or not at all.
 */
export async function runTool(
  tx: Database,
  now: Date,
  agentId: string,
  call: { name: string; arguments: string },
): Promise<ToolOutcome> {
  try {
    const args = parseArguments(call);
    switch (args.name) {
      case 'conversation_search':
        return { status: 'success', result: await searchConversation(tx, agentId, args.input) };
      case 'memory_insert':
      case 'memory_replace':
      case 'memory_rethink': {
        const block = await editMemoryBlock(tx, now, {
          agentId,
          edit: (blocks) => {
            const current = writableBlock(blocks, args.input.label);
            const value = newValue(args, current.value);
            const limit = current.limit ?? MEMORY_BLOCK_MAX_CHARS;
            if (charCount(value) > limit) {
              throw new ToolRefusal(
                `the block ${current.label} would hold ${charCount(value)} characters; its limit is ${limit}. Nothing was changed`,
              );
            }
            return { label: current.label, value };
          },
        });
        return {
          status: 'success',
          result: `The memory block ${block.label} now reads:\n${block.value}`,
        };
      }
    }
  } catch (error) {
    if (error instanceof ToolRefusal) return { status: 'error', result: `Error: ${error.message}` };
    throw error;
  }
}

type ParsedCall = {
  [N in ToolName]: { name: N; input: z.output<(typeof argumentSchemas)[N]> };
}[ToolName];

function parseArguments(call: { name: string; arguments: string }): ParsedCall {
  if (!Object.hasOwn(argumentSchemas, call.name)) {
    throw new ToolRefusal(
      `there is no tool named ${call.name}; the tools are ${Object.keys(argumentSchemas).join(', ')}`,
    );
  }
  const name = call.name as ToolName;
  let raw: unknown;
  try {
    raw = JSON.parse(call.arguments || '{}');
  } catch {
    throw new ToolRefusal(
      `the arguments of ${name} are not valid JSON: ${call.arguments.slice(0, 200)}`,
    );
  }
  const parsed = argumentSchemas[name].safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.join('.') || 'arguments'}: ${i.message}`,
    );
    throw new ToolRefusal(`bad arguments for ${name}: ${issues.join('; ')}`);
  }
  return { name, input: parsed.data } as ParsedCall;
}

function writableBlock(blocks: MemoryBlock[], label: string): MemoryBlock {
  const block = blocks.find((b) => b.label === label);
  if (!block) {
    throw new ToolRefusal(
      `there is no memory block labelled ${label}; the blocks are ${blocks.map((b) => b.label).join(', ') || 'none'}`,
    );
  }
  if (block.read_only) throw new ToolRefusal(`the memory block ${label} is read-only`);
  return block;
}

function newValue(call: ParsedCall, value: string): string {
  switch (call.name) {
    case 'memory_insert': {
      const lines = value === '' ? [] : value.split('\n');
      const at = call.input.insert_line === -1 ? lines.length : call.input.insert_line;
      if (at > lines.length) {
        throw new ToolRefusal(
          `insert_line ${at} is past the block's end (it has ${lines.length} lines)`,
        );
      }
      lines.splice(at, 0, call.input.new_str);
      return lines.join('\n');
    }
    case 'memory_replace': {
      const { old_str, new_str, label } = call.input;
      const count = value.split(old_str).length - 1;
      if (count !== 1) {
        throw new ToolRefusal(
          `old_str appears ${count} times in the block ${label}; it must appear exactly once`,
        );
      }
      return value.replace(old_str, () => new_str);
    }
    case 'memory_rethink':
      return call.input.new_memory;
    default:
      throw new Error(`${call.name} does not edit memory`);
  }
}

async function searchConversation(
  tx: Database,
  agentId: string,
  { query, limit }: { query: string; limit: number },
): Promise<string> {
  const rows = await tx
    .select({ date: messages.createdAt, type: messages.messageType, content: messages.content })
    .from(messages)
    .where(
      and(
        eq(messages.agentId, agentId),
        inArray(messages.messageType, ['user_message', 'assistant_message']),
        ilike(messages.content, `%${query.replace(/[\\%_]/g, '\\$&')}%`),
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(limit);
  if (rows.length === 0) return `No messages contain "${query}".`;
  return JSON.stringify(
    rows.map((r) => ({
      date: r.date.toISOString(),
      role: r.type === 'user_message' ? 'user' : 'assistant',
      content: r.content,
    })),
  );
}
