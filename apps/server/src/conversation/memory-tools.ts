import { and, desc, eq, ilike, inArray } from 'drizzle-orm';
import type { ToolSpec } from '../agent-runtime/runtime.js';
import { editMemoryBlock } from '../agents/agent-blocks.js';
import { charCount, MEMORY_BLOCK_MAX_CHARS } from '../agents/agent-schemas.js';
import {
  findToolByName,
  type RunnableToolName,
  TOOL_CATALOG,
  type ToolArguments,
} from '../agents/tool-catalog.js';
import type { Database } from '../db/client.js';
import { agents, type MemoryBlock, messages } from '../db/schema.js';
import { notFound } from '../errors.js';

/** A call the tool refuses; its message is the error result the model reads. */
class ToolRefusal extends Error {}

export interface ToolOutcome {
  status: 'success' | 'error';
  result: string;
}

interface ToolContext {
  tx: Database;
  now: Date;
  agentId: string;
}
type Executor<N extends RunnableToolName> = (
  context: ToolContext,
  input: ToolArguments<N>,
) => Promise<string>;

/**
 * How each tool of the catalogue's RUNNABLE list is run, its arguments already checked
 * against the catalogue's schema. Start here to give agents another tool: a declaration in
 * agents/tool-catalog.ts and its executor below.
 */
const EXECUTORS: { [N in RunnableToolName]: Executor<N> } = {
  memory_insert: (context, { label, new_str, insert_line }) =>
    editBlock(context, label, (value) => {
      const lines = value === '' ? [] : value.split('\n');
      const at = insert_line === -1 ? lines.length : insert_line;
      if (at > lines.length) {
        throw new ToolRefusal(
          `insert_line ${at} is past the block's end (it has ${lines.length} lines)`,
        );
      }
      lines.splice(at, 0, new_str);
      return lines.join('\n');
    }),
  memory_replace: (context, { label, old_str, new_str }) =>
    editBlock(context, label, (value) => {
      const count = value.split(old_str).length - 1;
      if (count !== 1) {
        throw new ToolRefusal(
          `old_str appears ${count} times in the block ${label}; it must appear exactly once`,
        );
      }
      return value.replace(old_str, () => new_str);
    }),
  memory_rethink: (context, { label, new_memory }) => editBlock(context, label, () => new_memory),
  // Letta's legacy tools keep their own semantics: append on a new line, replace everywhere.
  core_memory_append: (context, { label, content }) =>
    editBlock(context, label, (value) => `${value}\n${content}`),
  core_memory_replace: (context, { label, old_content, new_content }) =>
    editBlock(context, label, (value) => {
      if (!value.includes(old_content)) {
        throw new ToolRefusal(`old_content was not found in the memory block ${label}`);
      }
      return value.replaceAll(old_content, () => new_content);
    }),
  conversation_search: ({ tx, agentId }, input) => searchConversation(tx, agentId, input),
};

const executable = (name: string): name is RunnableToolName => Object.hasOwn(EXECUTORS, name);

/**
 * What a step offers the model: the agent's attached tools that this server runs, as the
 * catalogue declares them, in the catalogue's order.
 */
export function offeredTools(attached: readonly string[]): ToolSpec[] {
  return TOOL_CATALOG.filter((t) => executable(t.name) && attached.includes(t.name)).map(
    ({ name, description, parameters }) => ({ name, description, parameters }),
  );
}

/**
 * Runs one tool call of the agent inside `tx`, the transaction that stores the call and its
 * result, so a memory edit and the messages recording it are written together or not at all.
 * A call the agent may not make (a tool not attached to it, bad arguments, an edit the block
 * refuses) is answered with an error result the model reads, never a failed turn.
 */
export async function runTool(
  tx: Database,
  now: Date,
  agentId: string,
  call: { name: string; arguments: string },
): Promise<ToolOutcome> {
  try {
    // Read in the transaction: a tool detached since the step began is no longer the agent's.
    const [row] = await tx
      .select({ tools: agents.tools })
      .from(agents)
      .where(eq(agents.id, agentId));
    if (!row) throw notFound(`Agent ${agentId} not found`);
    const name = attachedTool(call.name, row.tools);
    const input = parseArguments(name, call.arguments);
    const execute = EXECUTORS[name] as Executor<typeof name>;
    return { status: 'success', result: await execute({ tx, now, agentId }, input as never) };
  } catch (error) {
    if (error instanceof ToolRefusal) return { status: 'error', result: `Error: ${error.message}` };
    throw error;
  }
}

function attachedTool(name: string, attached: string[]): RunnableToolName {
  const own = offeredTools(attached).map((t) => t.name);
  if (executable(name) && own.includes(name)) return name;
  const tools = `this agent's tools are ${own.join(', ') || 'none'}`;
  if (!findToolByName(name)) throw new ToolRefusal(`there is no tool named ${name}; ${tools}`);
  throw new ToolRefusal(`the tool ${name} is not attached; ${tools}`);
}

function parseArguments<N extends RunnableToolName>(name: N, text: string): ToolArguments<N> {
  let raw: unknown;
  try {
    raw = JSON.parse(text || '{}');
  } catch {
    throw new ToolRefusal(`the arguments of ${name} are not valid JSON: ${text.slice(0, 200)}`);
  }
  const tool = findToolByName(name);
  if (!tool) throw new Error(`${name} is runnable but not in the catalogue`);
  const parsed = tool.arguments.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.join('.') || 'arguments'}: ${i.message}`,
    );
    throw new ToolRefusal(`bad arguments for ${name}: ${issues.join('; ')}`);
  }
  return parsed.data as ToolArguments<N>;
}

/** Writes `change(value)` to a block the agent may write, within the block's limit. */
async function editBlock(
  { tx, now, agentId }: ToolContext,
  label: string,
  change: (value: string) => string,
): Promise<string> {
  const block = await editMemoryBlock(tx, now, {
    agentId,
    edit: (blocks) => {
      const current = writableBlock(blocks, label);
      const value = change(current.value);
      const limit = current.limit ?? MEMORY_BLOCK_MAX_CHARS;
      if (charCount(value) > limit) {
        throw new ToolRefusal(
          `the block ${current.label} would hold ${charCount(value)} characters; its limit is ${limit}. Nothing was changed`,
        );
      }
      return { label: current.label, value };
    },
  });
  return `The memory block ${block.label} now reads:\n${block.value}`;
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
