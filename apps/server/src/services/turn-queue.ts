import { Mutex } from 'async-mutex';
import type postgres from 'postgres';

/**
 * One turn at a time per agent: a second send waits for the first to finish, so replies
 * never interleave and each turn sees the whole conversation before it. Within an instance
 * a mutex per agent queues them; across instances on PostgreSQL a session advisory lock on
 * the agent does, held on a reserved connection for the turn.
 */
export class TurnQueue {
  readonly #locks = new Map<string, { mutex: Mutex; users: number }>();

  constructor(private readonly sql?: postgres.Sql) {}

  async run<T>(agentId: string, turn: () => Promise<T>): Promise<T> {
    let entry = this.#locks.get(agentId);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.#locks.set(agentId, entry);
    }
    entry.users += 1;
    const current = entry;
    try {
      return await current.mutex.runExclusive(() => this.#acrossInstances(agentId, turn));
    } finally {
      current.users -= 1;
      // Forget idle agents, so the map holds only agents with a turn running or waiting.
      if (current.users === 0) this.#locks.delete(agentId);
    }
  }

  async #acrossInstances<T>(agentId: string, turn: () => Promise<T>): Promise<T> {
    if (!this.sql) return turn();
    const connection = await this.sql.reserve();
    try {
      await connection`select pg_advisory_lock(hashtextextended(${agentId}, 0))`;
      try {
        return await turn();
      } finally {
        await connection`select pg_advisory_unlock(hashtextextended(${agentId}, 0))`;
      }
    } finally {
      connection.release();
    }
  }

  /** Agents with a turn running or queued here. */
  get busyAgents(): number {
    return this.#locks.size;
  }
}
