import { fileURLToPath } from 'node:url';

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const sdk = fileURLToPath(new URL('../../libs/sdk/src/index.ts', import.meta.url));

// The console is served by agent-api under /console (docs/console.md). The SDK is compiled from its workspace
// source, so the console does not depend on the layout of the SDK's published build. The output has no inline
// script or style (agent-api's Content-Security-Policy allows neither) and no source maps (agent-api serves none).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  resolve: { alias: { '@skreaver/sdk': sdk } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
