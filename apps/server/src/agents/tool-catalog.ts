import { createHash } from 'node:crypto';

/**
 * Letta's built-in tools, by the names Letta gives them, so that SDK code written for Letta
 * (`tools: ['memory_insert', …]`, `include_base_tools`) runs here unchanged. This server
 * has no custom tools: the catalogue is fixed, and an agent keeps the names of the tools
 * attached to it (`agents.tools`). The agent loop executes the available ones; a tool that
 * would need a code sandbox, the internet or an archival store this server lacks is listed
 * with the reason it is unavailable and refused when asked for, rather than pretended.
 *
 * Start here to add a tool: one entry below, and its execution in the agent loop.
 */
export interface CatalogTool {
  name: string;
  description: string;
  /** Letta's own category for it. */
  toolType: 'letta_core' | 'letta_memory_core' | 'letta_builtin';
  /** JSON Schema of the arguments, as the model is shown them. */
  parameters: { type: 'object'; properties: Record<string, unknown>; required: string[] };
  /** Why this server cannot run it; absent when it can. */
  unavailable?: string;
}

const label = { type: 'string', description: 'Label of the memory block to edit.' };
const text = (description: string) => ({ type: 'string', description });

const NO_INTERNET =
  'needs internet access, which this server does not give its agents; it is not available here';
const NO_ARCHIVE =
  'needs archival memory (passages), which this server does not keep; it is not available here';

export const TOOL_CATALOG: readonly CatalogTool[] = [
  {
    name: 'memory_insert',
    description: 'Insert text into a memory block at a given line (at the end by default).',
    toolType: 'letta_memory_core',
    parameters: {
      type: 'object',
      properties: {
        label,
        new_str: text('The text to insert.'),
        insert_line: {
          type: 'integer',
          description: 'Line number after which to insert; -1 (the default) is the end.',
        },
      },
      required: ['label', 'new_str'],
    },
  },
  {
    name: 'memory_replace',
    description: 'Replace an exact piece of text in a memory block with new text.',
    toolType: 'letta_memory_core',
    parameters: {
      type: 'object',
      properties: {
        label,
        old_str: text('The text to replace; it must occur exactly once in the block.'),
        new_str: text('The text to put in its place (empty to delete it).'),
      },
      required: ['label', 'old_str', 'new_str'],
    },
  },
  {
    name: 'memory_rethink',
    description: 'Rewrite a whole memory block with new contents.',
    toolType: 'letta_memory_core',
    parameters: {
      type: 'object',
      properties: { label, new_memory: text('The block’s new contents, in full.') },
      required: ['label', 'new_memory'],
    },
  },
  {
    name: 'core_memory_append',
    description: 'Append text to the end of a memory block (Letta’s older memory tool).',
    toolType: 'letta_memory_core',
    parameters: {
      type: 'object',
      properties: { label, content: text('The text to append.') },
      required: ['label', 'content'],
    },
  },
  {
    name: 'core_memory_replace',
    description: 'Replace text in a memory block (Letta’s older memory tool).',
    toolType: 'letta_memory_core',
    parameters: {
      type: 'object',
      properties: {
        label,
        old_content: text('The text to replace.'),
        new_content: text('The text to put in its place.'),
      },
      required: ['label', 'old_content', 'new_content'],
    },
  },
  {
    name: 'conversation_search',
    description: 'Search the earlier messages of this conversation for text.',
    toolType: 'letta_core',
    parameters: {
      type: 'object',
      properties: {
        query: text('What to look for.'),
        limit: { type: 'integer', description: 'Most messages to return.' },
      },
      required: ['query'],
    },
  },
  {
    name: 'archival_memory_insert',
    description: 'Store a passage in archival memory.',
    toolType: 'letta_core',
    parameters: {
      type: 'object',
      properties: { content: text('The passage to store.') },
      required: ['content'],
    },
    unavailable: NO_ARCHIVE,
  },
  {
    name: 'archival_memory_search',
    description: 'Search archival memory by meaning.',
    toolType: 'letta_core',
    parameters: {
      type: 'object',
      properties: { query: text('What to look for.') },
      required: ['query'],
    },
    unavailable: NO_ARCHIVE,
  },
  {
    name: 'web_search',
    description: 'Search the web.',
    toolType: 'letta_builtin',
    parameters: {
      type: 'object',
      properties: { query: text('What to search for.') },
      required: ['query'],
    },
    unavailable: NO_INTERNET,
  },
  {
    name: 'fetch_webpage',
    description: 'Fetch a web page and return its text.',
    toolType: 'letta_builtin',
    parameters: {
      type: 'object',
      properties: { url: text('The page’s address.') },
      required: ['url'],
    },
    unavailable: NO_INTERNET,
  },
  {
    name: 'run_code',
    description: 'Run code in a sandbox and return its output.',
    toolType: 'letta_builtin',
    parameters: {
      type: 'object',
      properties: {
        code: text('The code to run.'),
        language: { type: 'string', enum: ['python', 'js', 'ts', 'r', 'java'] },
      },
      required: ['code', 'language'],
    },
    unavailable: 'needs a code sandbox, which this server does not run; it is not available here',
  },
];

/**
 * What `include_base_tools` attaches (true unless said otherwise, as in Letta): the memory
 * tools of Letta's current agent type that this server runs. Letta's archival tools would
 * be among them; here they are unavailable, so they are left out rather than attached dead.
 */
export const BASE_TOOL_NAMES: readonly string[] = [
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

/** The tools of an agent as the agent loop is to offer them to the model. */
export function agentTools(toolNames: readonly string[]): CatalogTool[] {
  return toolNames.flatMap((name) => {
    const tool = byName.get(name);
    return tool && !tool.unavailable ? [tool] : [];
  });
}

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
