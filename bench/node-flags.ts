// The Node flags the reconciler image runs lifeboat with, read from the Dockerfile's
// ENTRYPOINT (`["node", <flags>…, "/app/bin/lifeboat.js"]`), so that the backup benchmark
// measures the engine as it runs in the cluster, backup after backup in one process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function imageNodeFlags(root: string): string[] {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const argv: unknown = entrypoint === undefined ? undefined : JSON.parse(entrypoint);
  if (
    !Array.isArray(argv) ||
    argv[0] !== 'node' ||
    argv.at(-1) !== '/app/bin/lifeboat.js' ||
    !argv.every((a) => typeof a === 'string')
  ) {
    throw new Error(
      `Dockerfile: expected ENTRYPOINT ["node", <flags>…, "/app/bin/lifeboat.js"], not ${entrypoint}`,
    );
  }
  return argv.slice(1, -1);
}
