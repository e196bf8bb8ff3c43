// `lifeboat validate` (the same loader the reconciler uses) refuses input that used to pass and
// fail later or crash: a TTL beyond Go's int64 of nanoseconds, a file of 60,000 documents
// (which exhausted the reconciler's heap), two namespaces mapped onto one; and it warns, without
// failing, about a restore into kube-system.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT } from '../src/cli/exit-codes.js';
import { runCli } from './fixtures/restore-fixtures.js';
import { localLocation } from './fixtures/policy-repo.js';
import { tempDir } from './ground/world.js';

const doc = (kind: string, name: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: 'lifeboat.dev/v1', kind, metadata: { name }, spec });

async function writeRepo(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('limits-');
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

interface ValidationJson {
  ok: boolean;
  documents: number;
  errors: { file: string; line: number; path: string; code: string; message: string }[];
  warnings?: { file: string; path: string; message: string }[];
}

describe('lifeboat validate: input limits', () => {
  it('errs on an out-of-range TTL, a file of 60,000 documents and a mapping collision; warns on kube-system', async () => {
    const dir = await writeRepo({
      'storage-locations/disk.yaml': localLocation('disk', { path: 'backups', isDefault: true }),
      'backups/forever.yaml': doc('Backup', 'forever', {
        includedNamespaces: ['shop'],
        ttl: '99999999999999999h',
      }),
      'backups/many.yaml': doc('Backup', 'one', { includedNamespaces: ['shop'] }).concat(
        '---\na: 1\n'.repeat(60_000),
      ),
      'restores/merge.yaml': doc('Restore', 'merge', {
        backupName: 'b',
        namespaceMapping: { shop: 'merged', billing: 'merged' },
      }),
      'restores/system.yaml': doc('Restore', 'system', {
        backupName: 'b',
        namespaceMapping: { tools: 'kube-system' },
      }),
    });

    const json = await runCli(['validate', dir, '--json']);
    expect(json.code).toBe(EXIT.invalid);
    const result = JSON.parse(json.stdout) as ValidationJson;
    expect(result.errors.map((e) => [e.file, e.path, e.code])).toEqual([
      ['backups/forever.yaml', 'spec.ttl', 'duration'],
      ['backups/many.yaml', '', 'limit'],
      ['restores/merge.yaml', 'spec.namespaceMapping.billing', 'namespace'],
    ]);
    expect(result.errors[0]?.message).toContain('longer than the longest duration Velero can store');
    expect(result.errors[1]?.message).toContain('60001 documents');
    expect(result.errors[2]?.message).toBe(
      '"billing" and "shop" both map to "merged": their objects would collide',
    );
    // The kube-system restore is valid, with a warning.
    expect(result.documents).toBe(2);
    expect(result.warnings?.map((w) => [w.file, w.path])).toEqual([
      ['restores/system.yaml', 'spec.namespaceMapping.tools'],
    ]);

    const text = await runCli(['validate', dir]);
    expect(text.stdout).toContain(
      `${join(dir, 'restores/system.yaml')}:8:12: warning: restores into the system namespace "kube-system"`,
    );
    expect(text.stdout).toMatch(/3 errors in 3 files; 2 valid documents, 1 warning\n$/);
  });
});
