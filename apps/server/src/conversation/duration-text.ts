/** A duration as messages give it: "2 minutes" when whole minutes, else "0.2 seconds". */
export function durationText(ms: number): string {
  if (ms > 0 && ms % 60_000 === 0) return plural(ms / 60_000, 'minute');
  return plural(Math.round(ms / 100) / 10, 'second');
}

const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`;
