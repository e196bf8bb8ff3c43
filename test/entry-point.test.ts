// The CLI's V8 flags live on bin/lifeboat.js's first line; the image's ENTRYPOINT must pass the
// same ones, or the reconciler in the cluster would run with other memory behaviour than the
// one measured (docs/decisions/0009-backup-memory.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entryPointNodeFlags } from '../bench/node-flags.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the entry point', () => {
  it('runs with a small young generation, from the CLI and in the image alike', () => {
    const flags = entryPointNodeFlags(root);
    expect(flags).toContain('--max-semi-space-size=8');
    const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint, 'Dockerfile has an exec-form ENTRYPOINT').toBeDefined();
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...flags, '/app/bin/lifeboat.js']);
  });
});
