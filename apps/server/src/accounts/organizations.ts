import { eq } from 'drizzle-orm';
import { organizations } from '../db/schema.js';
import type { ServiceDeps } from '../deps.js';
import { newId } from '../lib/ids.js';

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
}

/** Organizations are created on demand by name (the CLI and the seed refer to them by name). */
export async function ensureOrganization(
  { db }: Pick<ServiceDeps, 'db'>,
  name: string,
): Promise<Organization> {
  await db
    .insert(organizations)
    .values({ id: newId('org'), name })
    .onConflictDoNothing();
  const [org] = await db.select().from(organizations).where(eq(organizations.name, name));
  if (!org) throw new Error(`Organization ${name} vanished while being created`);
  return org;
}

/** Looks an organization up without creating it, for callers that must not invent one. */
export async function findOrganization(
  { db }: Pick<ServiceDeps, 'db'>,
  name: string,
): Promise<Organization | undefined> {
  const [org] = await db.select().from(organizations).where(eq(organizations.name, name));
  return org;
}
