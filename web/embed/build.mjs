// Builds the hosted form page's assets into app/forms/static/ (committed, so `make run` needs no Node):
// content-hashed names (served with immutable caching), a manifest the server reads to name them, and the
// bundled packages' licence texts. Same lockfile + same esbuild version = the same bytes.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '..', '..', 'app', 'forms', 'static');
const OWNED = /^embed-[A-Z0-9]+\.(js|css)(\.LEGAL\.txt)?$/;

mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: { embed: join(here, 'src', 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome87', 'firefox78', 'safari15'],
  entryNames: '[name]-[hash]',
  outdir,
  metafile: true,
  legalComments: 'external',
  charset: 'utf8',
  sourcemap: false,
  define: { 'process.env.NODE_ENV': '"production"' },
  alias: { 'markdown-to-jsx/react': join(here, 'shims', 'markdown.tsx') },
  logLevel: 'warning',
});

const manifest = {};
const written = new Set();
for (const [path, info] of Object.entries(result.metafile.outputs)) {
  const name = basename(path);
  written.add(name);
  if (info.entryPoint) manifest['embed.js'] = name;
  else if (name.endsWith('.css')) manifest['embed.css'] = name;
}
for (const name of readdirSync(outdir)) {
  if (OWNED.test(name) && !written.has(name)) rmSync(join(outdir, name));
}
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const sizes = Object.entries(result.metafile.outputs).map(([p, o]) => `${basename(p)} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`built into ${outdir}:\n  ${sizes.join('\n  ')}`);
