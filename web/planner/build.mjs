// Builds the planner workspace's assets into app/planner/static/ (committed, so `make run` needs no Node):
// content-hashed names (served with immutable caching), a manifest the server reads to name them,
// pre-compressed copies, and the bundled packages' licence texts. Same lockfile + same esbuild = same bytes.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '..', '..', 'app', 'planner', 'static');
const OWNED = /^planner-[A-Z0-9]+\.(js|css)(\.gz|\.br)?$/;

mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: { planner: join(here, 'src', 'planner.js'), 'planner-style': join(here, 'src', 'planner.css') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome87', 'firefox78', 'safari15'],
  entryNames: 'planner-[hash]',
  outdir,
  metafile: true,
  legalComments: 'none', // the licences go whole into planner-licenses.txt below
  charset: 'utf8',
  sourcemap: false,
  logLevel: 'warning',
});

const manifest = {};
const written = new Set();
const sizes = [];
for (const [path, info] of Object.entries(result.metafile.outputs)) {
  const name = basename(path);
  written.add(name);
  if (name.endsWith('.js')) manifest['planner.js'] = name;
  else if (name.endsWith('.css')) manifest['planner.css'] = name;
  else continue;
  // Served pre-compressed (the server picks by Accept-Encoding): no compression work per request.
  const raw = readFileSync(path);
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(`${path}.gz`, gz);
  writeFileSync(`${path}.br`, br);
  written.add(`${name}.gz`).add(`${name}.br`);
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  sizes.push(`${name}: ${kib(raw.length)}, gzip ${kib(gz.length)}, brotli ${kib(br.length)}`);
  void info;
}
for (const name of readdirSync(outdir)) {
  if (OWNED.test(name) && !written.has(name)) rmSync(join(outdir, name));
}
// What the files were built from (tests/planner/test_assets.py fails when a source changed without `make assets`).
const digest = createHash('sha256');
for (const f of ['package-lock.json', 'build.mjs', ...readdirSync(join(here, 'src')).sort().map((n) => `src/${n}`)]) {
  digest.update(`${f}\0`).update(readFileSync(join(here, f))).update('\0');
}
manifest.sources = digest.digest('hex');
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

// The licence of every package that ended up in the bundle, for anyone who receives the built files.
const packages = new Set();
for (const out of Object.values(result.metafile.outputs)) {
  for (const input of Object.keys(out.inputs)) {
    const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
    if (m) packages.add(m[1]);
  }
}
const notices = [...packages].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(here, dir, 'package.json'), 'utf8'));
  const file = readdirSync(join(here, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = file ? readFileSync(join(here, dir, file), 'utf8').trim() : `License: ${pkg.license}`;
  return `${pkg.name} ${pkg.version} (${pkg.license})\n\n${text}\n`;
});
writeFileSync(
  join(outdir, 'planner-licenses.txt'),
  `Third-party software in the planner workspace's built files (app/planner/static/planner-*):\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`,
);
console.log(`built into ${outdir}:\n  ${sizes.join('\n  ')}`);
