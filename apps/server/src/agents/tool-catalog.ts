import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Letta's built-in tools, by the names Letta gives them, so that SDK code written for Letta
 * (`tools: ['memory_insert', …]`, `include_base_tools`) runs here unchanged. This server
 * has no custom tools: the catalogue is fixed, and an agent keeps the names of the tools
 * attached to it (`agents.tools`). The agent loop executes the available ones; a tool that
 * would need a code sandbox, the internet or an archival store this server lacks is listed
 * with the reason it is unavailable and refused when asked for, rather than pretended.
 *
 * Start here to add a tool: one entry in RUNNABLE, and its executor in
 * conversation/memory-tools.ts.
 */

/** A tool's arguments, as the model is shown them: a JSON Schema object refusing extra keys. */
export type ToolParameters = {
  type: 'object';
  properties: Record<string, unknown>;
  required: string[];
  additionalProperties: false;
};

interface ToolDeclaration {
  description: string;
  /** Letta's own category for it. */
  toolType: 'letta_core' | 'letta_memory_core' | 'letta_builtin';
  /**
   * Its arguments, declared once: the model is shown them as JSON Schema, and the agent loop
   * checks each call against the same schema before running it.
   */
  arguments: z.ZodObject;
}

export interface CatalogTool extends ToolDeclaration {
  name: string;
  parameters: ToolParameters;
  /** Why this server cannot run it; absent when it can. */
  unavailable?: string;
}

const label = z.string().describe('The label of the memory block to edit, e.g. "human".');

/**
 * The tools the agent loop runs (conversation/memory-tools.ts has one executor for each,
 * which the type checker holds to this list). Descriptions say what the executor does.
 */
const RUNNABLE = {
  memory_insert: {
    description:
      'Insert text into one of your memory blocks as a new line, at a line number or at the end.',
    toolType: 'letta_memory_core',
    arguments: z.strictObject({
      label,
      new_str: z.string().describe('The text to insert.'),
      insert_line: z
        .int()
        .min(-1)
        .default(-1)
        .describe(
          'How many of the block’s lines stay above the new text: 0 inserts at the top, -1 (the default) at the end.',
        ),
    }),
  },
  memory_replace: {
    description:
      'Replace text in one of your memory blocks: old_str must appear in it exactly once.',
    toolType: 'letta_memory_core',
    arguments: z.strictObject({
      label,
      old_str: z.string().min(1).describe('The exact text to replace.'),
      new_str: z.string().describe('The text to put in its place (empty to delete it).'),
    }),
  },
  memory_rethink: {
    description: 'Rewrite one of your memory blocks whole, replacing all it held.',
    toolType: 'letta_memory_core',
    arguments: z.strictObject({
      label,
      new_memory: z.string().describe('The block’s new contents, in full.'),
    }),
  },
  core_memory_append: {
    description:
      'Append text to one of your memory blocks, on a new line (Letta’s older memory tool).',
    toolType: 'letta_memory_core',
    arguments: z.strictObject({ label, content: z.string().describe('The text to append.') }),
  },
  core_memory_replace: {
    description:
      'Replace every occurrence of some text in one of your memory blocks (Letta’s older memory tool).',
    toolType: 'letta_memory_core',
    arguments: z.strictObject({
      label,
      old_content: z.string().min(1).describe('The exact text to replace; it must occur.'),
      new_content: z.string().describe('The text to put in its place (empty to delete it).'),
    }),
  },
  conversation_search: {
    description: 'Search your past conversation for messages containing some text.',
    toolType: 'letta_core',
    arguments: z.strictObject({
      query: z.string().trim().min(1).describe('The text to look for (case-insensitive).'),
      limit: z
        .int()
        .min(1)
        .max(50)
        .default(5)
        .describe('Most messages to return, newest first (default 5, at most 50).'),
    }),
  },
} as const satisfies Record<string, ToolDeclaration>;

export type RunnableToolName = keyof typeof RUNNABLE;
/** A runnable tool's arguments once checked, defaults filled in. */
export type ToolArguments<N extends RunnableToolName> = z.output<(typeof RUNNABLE)[N]['arguments']>;

const NO_INTERNET =
  'needs internet access, which this server does not give its agents; it is not available here';
const NO_ARCHIVE =
  'needs archival memory (passages), which this server does not keep; it is not available here';
const query = z.string().describe('What to look for.');

/** Letta's tools that this server lists, so SDK code finds them, but cannot run. */
const UNAVAILABLE: Record<string, ToolDeclaration & { unavailable: string }> = {
  archival_memory_insert: {
    description: 'Store a passage in archival memory.',
    toolType: 'letta_core',
    arguments: z.strictObject({ content: z.string().describe('The passage to store.') }),
    unavailable: NO_ARCHIVE,
  },
  archival_memory_search: {
    description: 'Search archival memory by meaning.',
    toolType: 'letta_core',
    arguments: z.strictObject({ query }),
    unavailable: NO_ARCHIVE,
  },
  web_search: {
    description: 'Search the web.',
    toolType: 'letta_builtin',
    arguments: z.strictObject({ query }),
    unavailable: NO_INTERNET,
  },
  fetch_webpage: {
    description: 'Fetch a web page and return its text.',
    toolType: 'letta_builtin',
    arguments: z.strictObject({ url: z.string().describe('The page’s address.') }),
    unavailable: NO_INTERNET,
  },
  run_code: {
    description: 'Run code in a sandbox and return its output.',
    toolType: 'letta_builtin',
    arguments: z.strictObject({
      code: z.string().describe('The code to run.'),
      language: z.enum(['python', 'js', 'ts', 'r', 'java']),
    }),
    unavailable: 'needs a code sandbox, which this server does not run; it is not available here',
  },
};

/**
 * What the model is shown: the input side (a defaulted argument is optional), without the
 * safe-integer bounds zod states for every integer, which say nothing to a model.
 */
function parametersOf(schema: z.ZodObject): ToolParameters {
  const converted = z.toJSONSchema(schema, {
    io: 'input',
    override: ({ jsonSchema }) => {
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  const { $schema: _, ...json } = converted as Record<string, unknown>;
  return { ...json, required: (json.required as string[] | undefined) ?? [] } as ToolParameters;
}

export const TOOL_CATALOG: readonly CatalogTool[] = [
  ...Object.entries(RUNNABLE),
  ...Object.entries(UNAVAILABLE),
].map(([name, declaration]) => ({
  name,
  ...declaration,
  parameters: parametersOf(declaration.arguments),
}));

/**
 * What `include_base_tools` attaches (true unless said otherwise, as in Letta): the memory
 * tools of Letta's current agent type that this server runs. Letta's archival tools would
 * be among them; here they are unavailable, so they are left out rather than attached dead.
 */
export const BASE_TOOL_NAMES: readonly RunnableToolName[] = [
  'memory_insert',
  'memory_replace',
  'memory_rethink',
  'conversation_search',
];

const byName = new Map(TOOL_CATALOG.map((t) => [t.name, t]));

/** A tool's id is derived from its name: stable across restarts and instances, never stored. */
export function toolId(name: string): string {
  const hex = createHash('sha256').update(`tool\0${name}`).digest('hex');
  return `tool-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const byId = new Map(TOOL_CATALOG.map((t) => [toolId(t.name), t]));

export const findToolByName = (name: string) => byName.get(name);
export const findToolById = (id: string) => byId.get(id);

/** Letta's `Tool`, as the SDK types it. */
export interface ToolState {
  id: string;
  name: string;
  description: string;
  tool_type: CatalogTool['toolType'];
  source_type: 'python';
  json_schema: { name: string; description: string; parameters: CatalogTool['parameters'] };
  args_json_schema: null;
  tags: string[];
  return_char_limit: number;
  default_requires_approval: false;
  /** `available: false` with the reason marks what this server lists but cannot run. */
  metadata_: { available: boolean; unavailable_reason?: string };
}

/** Letta's default cap on a tool's answer, in characters. */
const RETURN_CHAR_LIMIT = 50_000;

export function toToolState(tool: CatalogTool): ToolState {
  return {
    id: toolId(tool.name),
    name: tool.name,
    description: tool.description,
    tool_type: tool.toolType,
    source_type: 'python',
    json_schema: { name: tool.name, description: tool.description, parameters: tool.parameters },
    args_json_schema: null,
    tags: [],
    return_char_limit: RETURN_CHAR_LIMIT,
    default_requires_approval: false,
    metadata_: tool.unavailable
      ? { available: false, unavailable_reason: tool.unavailable }
      : { available: true },
  };
}
