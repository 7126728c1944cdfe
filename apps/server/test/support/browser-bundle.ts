import { fileURLToPath } from 'node:url';
import { build, type Rolldown } from 'vite';

/**
 * A package bundled for a plain browser page, as a script that defines the global `name`: so a
 * test can run the very client people ship (the official Letta SDK) in Chromium, not a
 * hand-written stand-in for its requests.
 */
export async function bundleForBrowser(specifier: string, name: string): Promise<string> {
  const entry = fileURLToPath(import.meta.resolve(specifier));
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: false, lib: { entry, formats: ['iife'], name } },
  });
  const [output] = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunk = output?.output[0];
  if (chunk?.type !== 'chunk') throw new Error(`bundling ${specifier} gave no script`);
  return chunk.code;
}
