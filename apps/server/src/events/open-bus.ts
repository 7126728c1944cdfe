import type { DatabaseHandle } from '../db/client.js';
import { PostgresBus } from '../infra/postgres-bus.js';
import type { EventBus } from './bus.js';
import { InProcessBus } from './in-process-bus.js';

/** PGlite is one process, so in-process delivery is complete there; PostgreSQL fans out. */
export function openBus(database: DatabaseHandle): EventBus {
  return database.sql ? new PostgresBus(database.sql) : new InProcessBus();
}
