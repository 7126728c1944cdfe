import { readdirSync, readFileSync } from 'node:fs';

/** Linux's clock ticks a second (`getconf CLK_TCK`), the unit of /proc's CPU times. */
const TICKS_A_SECOND = 100;

/**
 * The CPU time, in ms, that every PostgreSQL process on this machine has used so far (its
 * server and every backend, from /proc), or undefined where there are none to read (a
 * database on another machine, or no /proc): what the database spends is part of what a
 * turn costs the machine, and no SQL view reports it.
 */
export function postgresCpuMs(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  let found = false;
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited since the listing
    }
    const nameEnd = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, nameEnd) !== 'postgres') continue;
    // Fields after the name: state is the 3rd of stat(5), utime and stime the 14th and 15th.
    const fields = stat.slice(nameEnd + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    found = true;
  }
  return found ? (ticks * 1000) / TICKS_A_SECOND : undefined;
}
