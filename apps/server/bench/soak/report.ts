import { MEMORY_TOLERANCE, median, slopeMbPerMinute } from './memory.js';
import { stats } from './stats.js';

/** Prints the soak's table and the first failures, and says whether every target was met. */
export function report(elapsed: number, memory: { atMs: number; mb: number }[]): boolean {
  const mb = memory.map((s) => s.mb);
  const quarter = Math.max(1, Math.floor(mb.length / 4));
  const firstQuarter = median(mb.slice(0, quarter));
  const lastQuarter = median(mb.slice(-quarter));
  const growth = firstQuarter === 0 ? 0 : lastQuarter / firstQuarter - 1;
  const memoryFlat = mb.length >= 8 && growth <= MEMORY_TOLERANCE;
  const rows: [string, string, string][] = [
    ['duration', `${elapsed.toFixed(1)} s`, ''],
    [
      'requests served',
      stats.served.toLocaleString('en-US'),
      `${Math.round(stats.served / elapsed)} req/s`,
    ],
    [
      'messages sent (turns)',
      stats.sends.toLocaleString('en-US'),
      stats.sends > 0 ? 'met (at least 1)' : 'MISSED (at least 1)',
    ],
    ['tokens minted', stats.mints.toLocaleString('en-US'), ''],
    [
      'revocations acknowledged',
      stats.revocations.toLocaleString('en-US'),
      stats.revocations > 0 ? 'met (at least 1)' : 'MISSED (at least 1)',
    ],
    [
      '5xx responses',
      String(stats.fiveHundreds.length),
      stats.fiveHundreds.length === 0 ? 'met (0)' : 'MISSED',
    ],
    [
      'other unexpected statuses',
      String(stats.unexpected.length),
      stats.unexpected.length === 0 ? 'met (0)' : 'MISSED',
    ],
    [
      'accepted after acknowledged revocation',
      String(stats.acceptedAfterRevocation),
      stats.acceptedAfterRevocation === 0 ? 'met (0)' : 'MISSED',
    ],
    [
      'revoked-token probes not answered 401',
      String(stats.revokedNotRefused.length),
      stats.revokedNotRefused.length === 0 ? 'met (0)' : 'MISSED',
    ],
    [
      'requests unanswered within 10 s',
      String(stats.timeouts.length),
      stats.timeouts.length === 0 ? 'met (0)' : 'MISSED',
    ],
    [
      'server RSS, median of first → last quarter after warm-up',
      `${firstQuarter.toFixed(1)} → ${lastQuarter.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)} %)`,
      `${memoryFlat ? 'flat: met' : 'MISSED'} (at most +${MEMORY_TOLERANCE * 100} %, at least 8 samples); slope ${slopeMbPerMinute(memory).toFixed(1)} MB/min; min ${Math.min(...mb)}, max ${Math.max(...mb)} MB over ${mb.length} samples`,
    ],
    [
      'statuses',
      [...stats.byStatus]
        .sort()
        .map(([s, n]) => `${s}: ${n}`)
        .join(', '),
      '',
    ],
  ];
  console.log('\n| soak figure | value | note |\n| --- | --- | --- |');
  for (const [figure, value, note] of rows) console.log(`| ${figure} | ${value} | ${note} |`);
  for (const line of [
    ...stats.fiveHundreds,
    ...stats.unexpected,
    ...stats.revokedNotRefused,
    ...stats.timeouts,
  ].slice(0, 10))
    console.error(line);
  return (
    stats.sends > 0 &&
    stats.revocations > 0 &&
    stats.fiveHundreds.length === 0 &&
    stats.unexpected.length === 0 &&
    stats.acceptedAfterRevocation === 0 &&
    stats.revokedNotRefused.length === 0 &&
    stats.timeouts.length === 0 &&
    memoryFlat
  );
}
