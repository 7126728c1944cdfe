import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config-types.js';
import { StartRefusal } from '../start-refusal.js';
import { SecretBox } from './secret-box.js';

/**
 * Production must bring its own key. Development generates one on first run and keeps it in
 * the data folder beside (never inside) the database, so restarts can still decrypt.
 */
export function loadSecretBox(config: Config): SecretBox {
  const previous = config.previousEncryptionKeys;
  if (config.encryptionKey) return SecretBox.fromString(config.encryptionKey, previous);
  if (config.env === 'production') {
    throw new StartRefusal(
      'SCOPEKIT_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)',
    );
  }
  if (config.databaseUrl === 'memory://')
    return SecretBox.fromString(SecretBox.generateKey(), previous);
  const file = join(config.dataDir, 'encryption.key');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${SecretBox.generateKey()}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return SecretBox.fromString(readFileSync(file, 'utf8'), previous);
}
