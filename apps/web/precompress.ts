import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

const COMPRESSIBLE = /\.(js|css|html|svg)$/;

/**
 * Writes a Brotli (.br) and a gzip (.gz) copy next to every script, stylesheet and page the
 * build emits, at the highest levels, so the server sends them as they are
 * (@fastify/static's `preCompressed`) instead of compressing on every request.
 */
export function precompress(): Plugin {
  return {
    name: 'scopekit-precompress',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const output of Object.values(bundle)) {
        if (!COMPRESSIBLE.test(output.fileName)) continue;
        const source = output.type === 'chunk' ? output.code : output.source;
        const bytes = Buffer.from(source);
        this.emitFile({
          type: 'asset',
          fileName: `${output.fileName}.br`,
          source: brotliCompressSync(bytes, {
            params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
          }),
        });
        this.emitFile({
          type: 'asset',
          fileName: `${output.fileName}.gz`,
          source: gzipSync(bytes, { level: 9 }),
        });
      }
    },
  };
}
