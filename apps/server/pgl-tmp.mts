import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

const c = new PGlite();
await c.waitReady;
const e = await c.dumpDataDir('none');
console.log('dumped', e.size);
await migrate(drizzle({ client: c }), { migrationsFolder: 'drizzle' });
console.log('migrated');
const m = await c.dumpDataDir('none');
console.log('dumped2', m.size);
await c.close();
const x = new PGlite({ loadDataDir: e });
await x.waitReady;
console.log((await x.query('select count(*) from pg_tables where schemaname=$1', ['public'])).rows);
