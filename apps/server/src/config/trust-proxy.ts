// SCOPEKIT_TRUST_PROXY: which proxies' X-Forwarded-For entries the server believes.
import { isIP } from 'node:net';

/** Which proxies' `X-Forwarded-For` entries to believe: none, or those of these addresses. */
export type TrustProxy = false | string[];

/** proxy-addr's names for address ranges, which Fastify accepts beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(item: string): boolean {
  if (PROXY_RANGE_NAMES.has(item)) return true;
  const [address = '', bits, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Only the proxies' addresses are taken: the client's address is then the right-most
 * `X-Forwarded-For` entry that no trusted proxy wrote. `true` is refused: it makes the
 * left-most entry the client's address, and a client writes that entry itself, so every
 * per-address limit would be the client's to choose. A hop count is refused too: Fastify
 * trusts no hop by count, since a client that reaches the server directly could send as
 * many hops as it likes.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy | { error: string } {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false') return false;
  if (text === 'true') {
    return {
      error: `"true" would believe the left-most X-Forwarded-For address, which the client writes; give the proxies' addresses/CIDRs (e.g. 10.0.0.0/8)`,
    };
  }
  if (/^\d+$/.test(text)) {
    return {
      error: `a hop count (${text}) is not taken, as a client reaching the server directly could forge that many hops; give the proxies' addresses/CIDRs (e.g. 10.0.0.0/8)`,
    };
  }
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const bad = items.find((item) => !isAddressOrCidr(item));
  if (bad !== undefined)
    return { error: `"${bad}" is not an IP address or a CIDR (e.g. 10.0.0.0/8)` };
  return items;
}
