// The reconciler image runs with a small young generation (docs/decisions/0009-backup-memory.md),
// and the backup benchmark measures with the flags it reads from the image. The CLI's own entry
// point stays a plain `env node`: BusyBox's env, on Alpine, cannot pass flags (`env -S`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { imageNodeFlags } from '../bench/node-flags.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the entry points', () => {
  it('the image runs lifeboat with 8 MB semi-spaces', () => {
    expect(imageNodeFlags(root)).toEqual(['--max-semi-space-size=8']);
  });

  it('the CLI starts with a shebang every env understands', () => {
    const firstLine = readFileSync(`${root}/bin/lifeboat.js`, 'utf8').split('\n', 1)[0];
    expect(firstLine).toBe('#!/usr/bin/env node');
  });
});
