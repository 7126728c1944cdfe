import { createSnapshot, dataDirFromSnapshot } from './database-snapshot';
import { e2ePort, mainServerEnv } from './main-server';
import { startServer } from './servers';

/**
 * The migrated database every server starts from, then the server most specs share: the
 * real server (development mode, so it seeds admin/alice/bob into its fresh database)
 * serving the built web app on loopback.
 */
export default async function globalSetup() {
  const removeSnapshot = await createSnapshot();
  const server = await startServer(dataDirFromSnapshot(), mainServerEnv, e2ePort).catch(
    (error: unknown) => {
      removeSnapshot();
      throw error;
    },
  );
  return async () => {
    await server.stop();
    removeSnapshot();
  };
}
