import { and, asc, desc, eq, inArray, isNull, notInArray, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { errorCodes, FOREIGN_KEY_VIOLATION } from '../db/error-code.js';
import { type RunStatus, runs } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { pageLimit } from '../lib/page-limit.js';
import { parseInput } from '../lib/parse-input.js';
import type { StopReason } from './message-view.js';

type RunRow = typeof runs.$inferSelect;

/** Letta's `Run`, as the SDK types it (the fields this server knows). */
export interface RunView {
  id: string;
  agent_id: string;
  status: RunStatus;
  stop_reason: string | null;
  background: boolean;
  created_at: string;
  completed_at: string | null;
  conversation_id: null;
  metadata: null;
}

export const toRunView = (row: RunRow): RunView => ({
  id: row.id,
  agent_id: row.agentId,
  status: row.status,
  stop_reason: row.stopReason,
  background: row.background,
  created_at: row.createdAt.toISOString(),
  completed_at: row.completedAt?.toISOString() ?? null,
  conversation_id: null,
  metadata: null,
});

const TERMINAL: RunStatus[] = ['completed', 'failed', 'cancelled'];
export const isFinished = (status: RunStatus) => TERMINAL.includes(status);

/** A send accepted: its run exists, waiting for the agent, before anything is stored. */
export async function createRun(
  db: Database,
  values: {
    id: string;
    organizationId: string;
    agentId: string;
    background: boolean;
    /** Whole milliseconds, as list cursors compare them. */
    createdAt: Date;
  },
): Promise<RunView> {
  try {
    const [row] = await db
      .insert(runs)
      .values({ ...values, status: 'created' })
      .returning();
    if (!row) throw new Error('insert returned no run');
    return toRunView(row);
  } catch (error) {
    // The agent was deleted since the send was checked.
    if (errorCodes(error).includes(FOREIGN_KEY_VIOLATION)) {
      throw notFound(`Agent ${values.agentId} not found`);
    }
    throw error;
  }
}

export async function startRun(db: Database, runId: string) {
  await db.update(runs).set({ status: 'running' }).where(eq(runs.id, runId));
}

/**
 * A run ends once: with its turn's stop reason, or `failed` with `error` when the turn
 * failed without one (the agent busy or deleted, the database gone). A cancelled turn is
 * `cancelled`, a model that failed `failed`, as Letta reports them.
 */
export async function finishRun(db: Database, runId: string, stopReason: StopReason, now: Date) {
  const status: RunStatus =
    stopReason === 'cancelled'
      ? 'cancelled'
      : stopReason === 'end_turn' || stopReason === 'max_steps'
        ? 'completed'
        : 'failed';
  await db
    .update(runs)
    .set({ status, stopReason, completedAt: now })
    .where(and(eq(runs.id, runId), isNull(runs.completedAt)));
}

export async function getRun(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string; runId: string },
): Promise<RunView> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.id, args.runId), eq(runs.organizationId, args.organizationId)));
  if (!row) throw notFound(`Run ${args.runId} not found`);
  return toRunView(row);
}

const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'cancelled'] as const;

/** Letta's `RunListParams`; conversations are one per agent here, so none is named. */
export const runListSchema = z.strictObject({
  after: z.string().max(200).nullable().optional(),
  before: z.string().max(200).nullable().optional(),
  limit: pageLimit(1_000).default(50),
  order: z.enum(['asc', 'desc']).default('desc'),
  order_by: z.literal('created_at').optional(),
  ascending: z.boolean().optional(),
  agent_id: z.string().max(200).nullable().optional(),
  agent_ids: z.array(z.string().max(200)).max(100).nullable().optional(),
  statuses: z.array(z.enum(RUN_STATUSES)).nullable().optional(),
  active: z.boolean().optional(),
  background: z.boolean().nullable().optional(),
  stop_reason: z.string().max(100).nullable().optional(),
  conversation_id: z.string().max(0, 'is not supported by this server').nullable().optional(),
});
export type RunListInput = z.input<typeof runListSchema>;

/** The organization's runs, newest first by default, paged by run id as Letta does. */
export async function listRuns(
  { db }: Pick<ServiceDeps, 'db'>,
  args: { organizationId: string } & RunListInput,
): Promise<RunView[]> {
  const { organizationId, ...query } = args;
  const input = parseInput(runListSchema, query);
  const conditions: SQL[] = [eq(runs.organizationId, organizationId)];
  const agentIds = [...(input.agent_ids ?? []), ...(input.agent_id ? [input.agent_id] : [])];
  if (agentIds.length > 0) conditions.push(inArray(runs.agentId, agentIds));
  if (input.statuses) conditions.push(inArray(runs.status, input.statuses));
  if (input.active) conditions.push(notInArray(runs.status, TERMINAL));
  if (input.background != null) conditions.push(eq(runs.background, input.background));
  if (input.stop_reason) conditions.push(eq(runs.stopReason, input.stop_reason));
  const ascending = input.ascending ?? input.order === 'asc';
  // Runs of one instant are told apart by id, so the cursor is (created_at, id).
  const position = async (id: string, field: string) => {
    const [row] = await db
      .select({ createdAt: runs.createdAt })
      .from(runs)
      .where(and(eq(runs.id, id), eq(runs.organizationId, organizationId)));
    if (!row) throw notFound(`${field}: run ${id} not found`);
    return { createdAt: row.createdAt, id };
  };
  // "Later in this list" is a greater (created_at, id) when ascending, a smaller one if not.
  const beyond = (p: { createdAt: Date; id: string }, later: boolean) =>
    later === ascending
      ? sql`(${runs.createdAt}, ${runs.id}) > (${p.createdAt.toISOString()}::timestamptz, ${p.id})`
      : sql`(${runs.createdAt}, ${runs.id}) < (${p.createdAt.toISOString()}::timestamptz, ${p.id})`;
  if (input.after) conditions.push(beyond(await position(input.after, 'after'), true));
  if (input.before) conditions.push(beyond(await position(input.before, 'before'), false));
  const backwards = Boolean(input.before) && !input.after;
  const up = ascending !== backwards;
  const rows = await db
    .select()
    .from(runs)
    .where(and(...conditions))
    .orderBy(...(up ? [asc(runs.createdAt), asc(runs.id)] : [desc(runs.createdAt), desc(runs.id)]))
    .limit(input.limit);
  if (backwards) rows.reverse();
  return rows.map(toRunView);
}
