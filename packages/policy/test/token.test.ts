import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeTokenError,
  generateToken,
  isWellFormedToken,
  parseToken,
  redactToken,
  TOKEN_LENGTH,
  type TokenKind,
} from '../src/index.js';

const kind = fc.constantFrom<TokenKind>('client', 'server');
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const anyChar = fc.constantFrom(...`${BASE62}-_.+/= `.split(''));

describe('token format', () => {
  it('round-trips: a generated token parses, with its kind', () => {
    fc.assert(
      fc.property(kind, (k) => {
        const token = generateToken(k);
        expect(token).toHaveLength(TOKEN_LENGTH);
        expect(token.startsWith(k === 'client' ? 'ck-let-' : 'sk-let-')).toBe(true);
        const parsed = parseToken(token);
        expect(parsed).toEqual({ ok: true, value: { kind: k, secret: token.slice(7, 50) } });
        expect(isWellFormedToken(token, k)).toBe(true);
        expect(isWellFormedToken(token, k === 'client' ? 'server' : 'client')).toBe(false);
      }),
    );
  });

  it('catches any single-character change, anywhere, including the prefix', () => {
    fc.assert(
      fc.property(kind, fc.nat(TOKEN_LENGTH - 1), anyChar, (k, position, replacement) => {
        const token = generateToken(k);
        fc.pre(token[position] !== replacement);
        const mutated = token.slice(0, position) + replacement + token.slice(position + 1);
        expect(parseToken(mutated).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('catches swapping ck for sk (the checksum covers the prefix)', () => {
    const token = generateToken('client');
    expect(parseToken(`s${token.slice(1)}`)).toEqual({ ok: false, error: 'checksum' });
  });

  it('rejects random strings, naming why', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(parseToken(s).ok).toBe(false);
      }),
    );
    expect(parseToken('Bearer x')).toEqual({ ok: false, error: 'prefix' });
    expect(parseToken('ck-let-short')).toEqual({ ok: false, error: 'length' });
    expect(parseToken(`ck-let-${'!'.repeat(49)}`)).toEqual({ ok: false, error: 'charset' });
    expect(describeTokenError('checksum')).toMatch(/checksum/);
  });

  it('has 256 bits of randomness: no repeats, and every base62 character occurs', () => {
    const secrets = Array.from({ length: 2000 }, () => generateToken('client').slice(7, 50));
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(new Set(secrets.join('')).size).toBe(62);
  });

  it('redacts to the prefix and four characters', () => {
    const token = generateToken('server');
    expect(redactToken(token)).toBe(`${token.slice(0, 11)}…`);
    expect(redactToken('password')).toBe('[redacted]');
  });

  it('is found by the documented secret-scanner pattern', () => {
    const text = `config: key=${generateToken('server')} and ${generateToken('client')}.`;
    expect(text.match(/\b(ck|sk)-let-[0-9A-Za-z]{49}\b/g)).toHaveLength(2);
  });
});
