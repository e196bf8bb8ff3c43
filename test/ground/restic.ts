// restic for the test ground, as scripts/build-restic.sh builds it.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The restic that scripts/build-restic.sh built; fails naming the script when it is missing. */
export function resticBinary(): string {
  const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as { restic: string };
  const cache = process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat');
  const bin = join(cache, 'restic', versions.restic, 'restic');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'bash scripts/build-restic.sh'`);
  return bin;
}
