/** @module Builds the single executable dist/mcpgw with Bun.build({ compile }). */
import { mkdirSync } from 'node:fs';
import pkg from '../package.json' with { type: 'json' };

// ink imports react-devtools-core only when DEV is set; bundling it breaks --compile, so it resolves to an empty module.
const stubDevtools: Bun.BunPlugin = {
  name: 'stub-react-devtools-core',
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'stub' }));
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export default {}; export const connectToDevTools = () => {};', loader: 'js' }));
  },
};

mkdirSync('dist', { recursive: true });
const result = await Bun.build({
  entrypoints: ['cmd/mcpgw.ts'],
  // The executable never reads a bunfig.toml or .env from the directory it is run in: a bunfig.toml there could
  // preload code into `sudo mcpgw …`, and a .env could point it at another config (test/e2e/binary-cwd.test.ts).
  compile: { outfile: 'dist/mcpgw', autoloadBunfig: false, autoloadDotenv: false },
  // Bytecode (and minified source) halves start-up: the cold start budget is 150 ms (issue 7 targets).
  minify: true,
  bytecode: true,
  format: 'esm',
  // Code splitting: a dynamically imported module (the other commands for `serve`, the TUI, the 2026 SDK handler)
  // lands in a chunk of its own that is read only when imported; serve's idle RSS drops by ~2.5 MB (issue 7).
  splitting: true,
  sourcemap: 'none',
  define: { MCPGW_VERSION: JSON.stringify(pkg.version), 'process.env.DEV': '"false"' },
  plugins: [stubDevtools],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.error(`built dist/mcpgw (mcpgw ${pkg.version})`);
