// The reconciler image runs with a small young generation and a capped heap
// (docs/decisions/0009-backup-memory.md, 0011-heap-cap.md), and the backup benchmark measures
// with the flags it reads from the image. The cap must fit the Deployment's memory limit. The
// CLI's own entry point stays a plain `env node`: BusyBox's env, on Alpine, cannot pass flags
// (`env -S`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { imageNodeFlags } from '../bench/node-flags.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
/** Memory outside V8's heap: the node binary and its libraries (~46 MB), Buffers, zlib. */
const OUTSIDE_HEAP_MIB = 128;

interface Container {
  name: string;
  resources?: { limits?: { memory?: string } };
}

/** A Kubernetes quantity in bytes; the binary suffixes the manifests use. */
function bytesOf(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!m) throw new Error(`unexpected memory quantity ${quantity}`);
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

describe('the entry points', () => {
  it('the image runs lifeboat with 8 MB semi-spaces and a 384 MB heap', () => {
    expect(imageNodeFlags(root)).toEqual(['--max-semi-space-size=8', '--max-old-space-size=384']);
  });

  it("the heap cap leaves room for memory outside the heap under the Deployment's limit", () => {
    const cap = imageNodeFlags(root)
      .map((f) => /^--max-old-space-size=(\d+)$/.exec(f)?.[1])
      .find((v) => v !== undefined);
    expect(cap).toBeDefined();
    const docs = parseAllDocuments(readFileSync(`${root}/deploy/deployment.yaml`, 'utf8'));
    const deployment = docs
      .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: Container[] } } } })
      .find((o) => o.kind === 'Deployment');
    const container = deployment?.spec?.template.spec.containers.find((c) => c.name === 'lifeboat');
    const limit = container?.resources?.limits?.memory;
    expect(limit, 'the lifeboat container has a memory limit').toBeDefined();
    expect(Number(cap) * MiB + OUTSIDE_HEAP_MIB * MiB).toBeLessThanOrEqual(bytesOf(limit ?? '0'));
  });

  it('the CLI starts with a shebang every env understands', () => {
    const firstLine = readFileSync(`${root}/bin/lifeboat.js`, 'utf8').split('\n', 1)[0];
    expect(firstLine).toBe('#!/usr/bin/env node');
  });
});
