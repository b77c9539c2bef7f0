import { defineConfig } from 'vite';

// The dashboard is served by `ferry server` under /ui/ from files embedded in the binary
// (src/ui/). CMake passes --outDir into its build folder.
export default defineConfig({
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    // The CSP forbids inline scripts; Vite's preload polyfill is not needed for one chunk.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2020',
    sourcemap: false,
    reportCompressedSize: false,
  },
  // `npm run dev` against a local `ferry server`.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
