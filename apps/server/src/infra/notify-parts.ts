// Cutting an event too large for one NOTIFY into parts, and joining the parts on arrival.
import { randomUUID } from 'node:crypto';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; this leaves room to spare. */
export const MAX_NOTIFY_BYTES = 7900;
/**
 * An event larger than one NOTIFY travels as parts (see `PostgresBus.publish`). Bounds what a listener
 * buffers: parts per event (so at most ~31 MiB an event), and events assembled at once.
 */
export const MAX_PARTS = 4096;
const MAX_ASSEMBLING = 8;
/** Marks a part; an event's own text is JSON, which never starts with `~`. */
const PART_PREFIX = '~part:';
/** `~part:<set id>:<index>:<count>:<text>`; the set id is a UUID. */
const PART_PATTERN = /^~part:([0-9a-f-]{36}):(\d{1,4}):(\d{1,4}):/;
const PART_HEADER_BYTES = PART_PREFIX.length + 36 + 1 + 4 + 1 + 4 + 1;

/** Cuts UTF-8 text into pieces of at most `max` bytes, never inside a character. */
export function splitUtf8(text: string, max: number): string[] {
  const bytes = Buffer.from(text);
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + max, bytes.length);
    // A continuation byte (10xxxxxx) means the cut would fall inside a character.
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    pieces.push(bytes.subarray(start, end).toString());
    start = end;
  }
  return pieces;
}

/**
 * The NOTIFY payloads that carry `payload` on `channel`: its JSON, or its parts when larger
 * than one NOTIFY takes. Sent in one transaction, in this order, they arrive as one event.
 */
export function notifyPayloads(channel: string, payload: unknown): string[] {
  const text = JSON.stringify(payload);
  const size = Buffer.byteLength(text);
  if (size <= MAX_NOTIFY_BYTES) return [text];
  const pieces = splitUtf8(text, MAX_NOTIFY_BYTES - PART_HEADER_BYTES);
  if (pieces.length > MAX_PARTS) {
    throw new Error(`Event on ${channel} is ${size} bytes, more than the bus carries`);
  }
  const id = randomUUID();
  return pieces.map((piece, index) => `${PART_PREFIX}${id}:${index}:${pieces.length}:${piece}`);
}

interface Assembly {
  channel: string;
  parts: string[];
  count: number;
}

/** Whether a NOTIFY's text is one part of a larger event rather than a whole one. */
export function isPart(text: string): boolean {
  return text.startsWith(PART_PREFIX);
}

/**
 * Joins the parts of events sent by `notifyPayloads`, as one listening connection receives
 * them: a transaction's notifications arrive together and in order, so a set's parts come
 * in a row.
 */
export class PartAssembler {
  /** Events arriving in parts, by set id, oldest first. */
  readonly #assembling = new Map<string, Assembly>();

  /** Takes one part; answers the event's whole text once this part completes it. */
  add(channel: string, text: string): string | undefined {
    const match = PART_PATTERN.exec(text);
    if (!match) {
      process.emitWarning(`Ignored a malformed part of an event on ${channel}`);
      return undefined;
    }
    const [header, id = '', indexText, countText] = match;
    const index = Number(indexText);
    const count = Number(countText);
    const piece = text.slice(header.length);
    if (index === 0) {
      if (count < 2 || count > MAX_PARTS) return undefined;
      // Only an interrupted delivery leaves sets unfinished; the oldest one is given up.
      if (this.#assembling.size >= MAX_ASSEMBLING) {
        const [oldest] = this.#assembling.keys();
        if (oldest !== undefined) this.#assembling.delete(oldest);
      }
      this.#assembling.set(id, { channel, parts: [piece], count });
      return undefined;
    }
    const assembly = this.#assembling.get(id);
    // The set's start came before this instance listened, or was given up: nothing to join.
    if (!assembly) return undefined;
    if (
      assembly.channel !== channel ||
      assembly.count !== count ||
      index !== assembly.parts.length
    ) {
      this.#assembling.delete(id);
      process.emitWarning(`Dropped an event on ${channel} whose parts arrived out of order`);
      return undefined;
    }
    assembly.parts.push(piece);
    if (assembly.parts.length < count) return undefined;
    this.#assembling.delete(id);
    return assembly.parts.join('');
  }

  /** Forgets every set begun: the rest of its parts will not come (a lost connection). */
  clear(): void {
    this.#assembling.clear();
  }
}
