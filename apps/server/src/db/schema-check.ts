import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/**
 * Development only: the message the dev server prints, and answers every request with, when
 * `src/db/schema.ts` was saved before its migration was generated; undefined when it was not.
 */
export async function unmigratedSchemaProblem(
  schema: Record<string, unknown>,
  migrationsFolder: string,
): Promise<string | undefined> {
  const changed = await unmigratedSchemaChanges(schema, migrationsFolder);
  if (!changed?.length) return undefined;
  return (
    `src/db/schema.ts changes ${changed.join(', ')}, which no migration in drizzle/ holds yet: ` +
    'run `pnpm db:generate`, and the dev server restarts and applies it'
  );
}

/**
 * What `src/db/schema.ts` says that no migration in `drizzle/` holds yet,
 * i.e. a schema saved before `pnpm db:generate`. drizzle-kit describes the schema as it
 * would for a new migration, and that is compared with the description it stored beside the
 * last one. Returns the tables (or other kinds of object) that differ; empty when none do.
 * Resolves to undefined when drizzle-kit is not installed (a production install).
 * You probably don't need to edit this.
 */
export async function unmigratedSchemaChanges(
  schema: Record<string, unknown>,
  migrationsFolder: string,
): Promise<string[] | undefined> {
  let api: typeof import('drizzle-kit/api');
  try {
    api = await import('drizzle-kit/api');
  } catch {
    return undefined;
  }
  // Through JSON, as the stored snapshot was: plain objects and no undefined fields.
  const current = JSON.parse(JSON.stringify(api.generateDrizzleJson(schema))) as Snapshot;
  const last = lastSnapshot(migrationsFolder);
  const changed: string[] = [];
  for (const kind of new Set([...Object.keys(current), ...Object.keys(last)])) {
    if (kind === 'id' || kind === 'prevId') continue;
    const now = current[kind];
    const before = last[kind];
    if (isDeepStrictEqual(now, before)) continue;
    if (!isRecord(now) || !isRecord(before)) {
      changed.push(kind);
      continue;
    }
    for (const name of new Set([...Object.keys(now), ...Object.keys(before)])) {
      if (!isDeepStrictEqual(now[name], before[name])) changed.push(name.replace(/^public\./, ''));
    }
  }
  return changed.sort();
}

type Snapshot = Record<string, unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The snapshot drizzle-kit wrote with the newest migration; an empty schema when there is none. */
function lastSnapshot(migrationsFolder: string): Snapshot {
  const journalFile = join(migrationsFolder, 'meta', '_journal.json');
  let entries: { tag: string }[];
  try {
    entries = (JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] })
      .entries;
  } catch {
    return {};
  }
  const newest = entries.at(-1);
  if (!newest) return {};
  const prefix = newest.tag.split('_')[0];
  return JSON.parse(
    readFileSync(join(migrationsFolder, 'meta', `${prefix}_snapshot.json`), 'utf8'),
  ) as Snapshot;
}
