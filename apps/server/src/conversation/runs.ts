import { and, eq, inArray, isNull, notInArray, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { errorCodes, FOREIGN_KEY_VIOLATION } from '../db/error-code.js';
import { readKeysetPage } from '../db/keyset-page.js';
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
    /** When the send was accepted; list cursors compare it in the database. */
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
  const conditions: SQL[] = [];
  const agentIds = [...(input.agent_ids ?? []), ...(input.agent_id ? [input.agent_id] : [])];
  if (agentIds.length > 0) conditions.push(inArray(runs.agentId, agentIds));
  if (input.statuses) conditions.push(inArray(runs.status, input.statuses));
  if (input.active) conditions.push(notInArray(runs.status, TERMINAL));
  if (input.background != null) conditions.push(eq(runs.background, input.background));
  if (input.stop_reason) conditions.push(eq(runs.stopReason, input.stop_reason));
  // `ascending` is Letta's older way to say the order, and wins when both are given.
  const order = (input.ascending ?? input.order === 'asc') ? 'asc' : 'desc';
  const rows = await readKeysetPage(
    db,
    runs,
    { organizationId, name: 'run', where: conditions },
    { ...input, order },
  );
  return rows.map(toRunView);
}
