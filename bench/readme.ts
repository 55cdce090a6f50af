/**
 * Regenerates the README's Performance figures (between `<!-- performance:start -->` and
 * `<!-- performance:end -->`) from a results file of `npm run bench`:
 *   node bench/readme.ts [bench/results/latest.json]
 * The emulators' own benchmarks keep their paragraphs after the markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { format, resolveConfig } from 'prettier';

import { renderReport } from './report/render.ts';
import type { BenchResults } from './report/results.ts';

const here = dirname(fileURLToPath(import.meta.url));
const README = join(here, '..', 'README.md');
const START = '<!-- performance:start -->';
const END = '<!-- performance:end -->';

export async function updateReadme(results: BenchResults): Promise<void> {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} ... ${END} section`);
  const section = `${START}\n\n${renderReport(results)}\n\n`;
  // Formatted as `npm run lint` wants it (aligned table columns).
  const options = { ...(await resolveConfig(README)), filepath: README };
  writeFileSync(README, await format(text.slice(0, from) + section + text.slice(to), options));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? join(here, 'results', 'latest.json');
  await updateReadme(JSON.parse(readFileSync(file, 'utf8')) as BenchResults);
  process.stderr.write(`README.md updated from ${file}\n`);
}
