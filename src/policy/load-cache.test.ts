// The policy file cache of `lifeboat run`: a load with it gives what a load without it gives,
// parses only the files that changed, and never carries one load's findings or changes into the next.
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles, PolicyFileCache, type PolicySourceFile } from './load.js';

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

const location = y(
  'apiVersion: lifeboat.dev/v1',
  'kind: StorageLocation',
  'metadata:',
  '  name: disk',
  'spec:',
  '  provider: local',
  '  path: /var/backups',
);
const schedule = (name: string, cron: string): string =>
  y(
    'apiVersion: lifeboat.dev/v1',
    'kind: BackupSchedule',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  schedule: "${cron}"`,
    '  template:',
    '    includedNamespaces: [shop]',
    '    storageLocation: disk',
  );

const files: PolicySourceFile[] = [
  { file: 'locations/disk.yaml', text: location },
  { file: 'schedules/a.yaml', text: schedule('nightly', '0 2 * * *') },
  // The same name again (a finding across documents) and a broken expression (one of its own).
  { file: 'schedules/b.yaml', text: schedule('nightly', '0 3 * * *') },
  { file: 'schedules/c.yaml', text: schedule('broken', '0 0 30 2 *') },
];

describe('PolicyFileCache', () => {
  it('gives the same documents, errors and warnings as a load without it, load after load', () => {
    const plain = loadPolicyFiles(files);
    expect(plain.errors.map((e) => e.code)).toContain('duplicate-name');
    const cache = new PolicyFileCache();
    for (let i = 0; i < 3; i++) {
      const cached = loadPolicyFiles(files, { cache });
      expect(cached).toEqual(plain);
    }
    expect(cache.hits).toBe(files.length);
  });

  it('reads a changed file again, and forgets files that are gone', () => {
    const cache = new PolicyFileCache();
    loadPolicyFiles(files, { cache });
    const changed = files.map((f) =>
      f.file === 'schedules/a.yaml' ? { ...f, text: schedule('nightly', '15 4 * * *') } : f,
    );
    const again = loadPolicyFiles(changed, { cache });
    expect(cache.hits).toBe(files.length - 1);
    expect(again).toEqual(loadPolicyFiles(changed));
    const fewer = changed.filter((f) => f.file !== 'schedules/b.yaml');
    expect(loadPolicyFiles(fewer, { cache })).toEqual(loadPolicyFiles(fewer));
    // b.yaml was forgotten: bringing it back reads it again.
    loadPolicyFiles(changed, { cache });
    expect(cache.hits).toBe(files.length - 1);
  });

  it('keeps what a pass does to its documents out of the next load', () => {
    const cache = new PolicyFileCache();
    const first = loadPolicyFiles(files, { cache });
    const doc = first.documents.find((d) => d.kind === 'StorageLocation');
    if (!doc || doc.kind !== 'StorageLocation') throw new Error('location expected');
    (doc.spec as { path?: string }).path = '/changed';
    first.errors.length = 0;
    const second = loadPolicyFiles(files, { cache });
    expect(second).toEqual(loadPolicyFiles(files));
  });

  it('does not mix loads with different rules', () => {
    const cache = new PolicyFileCache();
    loadPolicyFiles(files, { cache, rules: { allowLinkLocalEndpoints: true } });
    loadPolicyFiles(files, { cache });
    expect(cache.hits).toBe(0);
  });
});
