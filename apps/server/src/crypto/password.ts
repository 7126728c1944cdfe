import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Passwords are hashed with scrypt from node:crypto: memory-hard (so GPUs and ASICs gain
 * little over a server), standard (RFC 7914), and built into Node, so no native add-on has
 * to compile on install. N = 2^15, r = 8, p = 1 is OWASP's recommended minimum and costs
 * 32 MiB and some tens of milliseconds per hash. The parameters are stored with each hash
 * so they can be raised later without invalidating existing passwords.
 */
export const PASSWORD_COST: PasswordCost = { N: 2 ** 15, r: 8, p: 1 };

/** scrypt's parameters; only tests lower them (`deps.accounts.passwordCost`), to save time. */
export interface PasswordCost {
  N: number;
  r: number;
  p: number;
}
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, params: ScryptOptions, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) => {
    // 128·N·r bytes are needed; Node's default ceiling (32 MiB) is just short of that.
    scrypt(
      password.normalize('NFKC'),
      salt,
      keyLength,
      { ...params, maxmem: 256 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string, cost: PasswordCost): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, cost, KEY_LENGTH);
  return [
    'scrypt',
    cost.N,
    cost.r,
    cost.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(
    password,
    Buffer.from(salt, 'base64url'),
    { N: Number(n), r: Number(r), p: Number(p) },
    expected.length,
  );
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of nothing anyone knows, at the cost of real ones: checked against when a username does not exist, so a
 * wrong username takes as long as a wrong password and does not reveal which users exist.
 */
const unknownUserHashes = new Map<string, Promise<string>>();
export function hashForUnknownUser(cost: PasswordCost): Promise<string> {
  const key = `${cost.N}$${cost.r}$${cost.p}`;
  let hash = unknownUserHashes.get(key);
  if (!hash) {
    hash = hashPassword(randomBytes(16).toString('hex'), cost);
    unknownUserHashes.set(key, hash);
  }
  return hash;
}
