// The Node flags the published CLI runs with, read from bin/lifeboat.js's first line
// (`#!/usr/bin/env -S node <flags>`), so that a benchmark measures what users run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function entryPointNodeFlags(root: string): string[] {
  const shebang = readFileSync(join(root, 'bin', 'lifeboat.js'), 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: --?[\w=.-]+)*)\s*$/.exec(shebang);
  if (!match) throw new Error(`bin/lifeboat.js: unexpected first line ${JSON.stringify(shebang)}`);
  return (match[1] ?? '').trim().split(/\s+/).filter(Boolean);
}
