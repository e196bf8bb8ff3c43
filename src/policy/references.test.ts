import { describe, expect, it } from 'vitest';
import { crossDocumentIssues } from './references.js';
import type { DocumentEntry } from './references.js';
import type { PolicyKind } from './types.js';

let line = 0;
function entry(kind: PolicyKind, name: string, spec: Record<string, unknown>, valid = true): DocumentEntry {
  line += 10;
  return {
    kind,
    name,
    file: `${name}.yaml`,
    namePosition: { line, column: 9 },
    content: { kind, metadata: { name }, spec },
    valid,
  };
}

/** Each entry's issues as `name: path: message`. */
function check(entries: DocumentEntry[]): string[] {
  const found = crossDocumentIssues(entries);
  return entries.flatMap((e) =>
    (found.get(e) ?? []).map((i) => `${e.name}: ${i.path.join('.')}: ${i.message}`),
  );
}

const location = (name: string, spec: Record<string, unknown> = {}, valid = true) =>
  entry('StorageLocation', name, { provider: 'local', path: '/b', ...spec }, valid);
const backup = (name: string, storageLocation?: string) =>
  entry('Backup', name, storageLocation === undefined ? {} : { storageLocation });
const schedule = (name: string, storageLocation?: string, valid = true) =>
  entry(
    'BackupSchedule',
    name,
    { schedule: '@daily', template: storageLocation ? { storageLocation } : {} },
    valid,
  );
const restore = (name: string, scheduleName: string) => entry('Restore', name, { scheduleName });

describe('crossDocumentIssues', () => {
  it('accepts references that resolve to valid documents', () => {
    expect(
      check([location('disk'), schedule('nightly', 'disk'), backup('once', 'disk'), restore('r', 'nightly')]),
    ).toEqual([]);
  });

  it('reports the second of two documents with one name, pointing at the first', () => {
    line = 0;
    const entries = [schedule('nightly'), schedule('nightly'), backup('nightly')];
    const found = crossDocumentIssues(entries);
    expect(found.get(entries[1] as DocumentEntry)).toEqual([
      {
        code: 'duplicate-name',
        path: ['metadata', 'name'],
        message: 'duplicate BackupSchedule name "nightly": first defined at nightly.yaml:10:9',
        related: [{ file: 'nightly.yaml', line: 10, column: 9 }],
      },
    ]);
    // Names are unique per kind: a Backup may share a BackupSchedule's name.
    expect(found.has(entries[0] as DocumentEntry)).toBe(false);
    expect(found.has(entries[2] as DocumentEntry)).toBe(false);
  });

  it('lets references resolve to the first of two duplicates', () => {
    expect(check([location('disk'), location('disk'), backup('b', 'disk')])).toEqual([
      'disk: metadata.name: duplicate StorageLocation name "disk": first defined at disk.yaml:' +
        String(line - 20) +
        ':9',
    ]);
  });

  it.each([
    [
      [backup('b', 'nas')],
      ['b: spec.storageLocation: StorageLocation "nas" not found in the repository; defined: default'],
    ],
    [
      [location('disk'), backup('b', 'nas')],
      ['b: spec.storageLocation: StorageLocation "nas" not found in the repository; defined: default, disk'],
    ],
    [[backup('b', 'default')], []],
    [[backup('b')], []],
    [[schedule('s', 'default')], []],
    [
      [restore('r', 'weekly')],
      [
        'r: spec.scheduleName: BackupSchedule "weekly" not found in the repository (to restore a backup by its name in storage, use backupName)',
      ],
    ],
  ])('resolves names: %#', (entries, expected) => {
    expect(check(entries)).toEqual(expected);
  });

  it('tells a referrer that its referent is invalid, and passes that along', () => {
    line = 0;
    const entries = [location('disk', {}, false), schedule('nightly', 'disk'), restore('r', 'nightly')];
    expect(check(entries)).toEqual([
      'nightly: spec.template.storageLocation: StorageLocation "disk" is invalid (disk.yaml:10:9); fix it first',
      'r: spec.scheduleName: BackupSchedule "nightly" is invalid (nightly.yaml:20:9); fix it first',
    ]);
  });

  it('refuses to write backups to a ReadOnly location', () => {
    line = 0;
    expect(check([location('archive', { accessMode: 'ReadOnly' }), backup('b', 'archive')])).toEqual([
      'b: spec.storageLocation: StorageLocation "archive" is ReadOnly: backups cannot be written to it',
    ]);
  });

  it('allows one default location and reports the second', () => {
    line = 0;
    expect(
      check([
        location('a', { default: true }),
        location('b', { default: true }),
        location('c', { default: false }),
      ]),
    ).toEqual([
      'b: spec.default: only one StorageLocation can be the default, and "a" (a.yaml:10:9) already is',
    ]);
  });

  it('sends backups without storageLocation to the default location and checks it', () => {
    line = 0;
    const entries = [location('main', { default: true }, false), location('default'), backup('b')];
    expect(check(entries)).toEqual([
      'b: spec: no storageLocation is set, so backups go to the default StorageLocation "main", which is invalid (main.yaml:10:9); fix it first',
    ]);
  });

  it('uses the location named default when none is marked default', () => {
    line = 0;
    expect(check([location('default', { accessMode: 'ReadOnly' }), schedule('s')])).toEqual([
      's: spec.template: no storageLocation is set, so backups go to the default StorageLocation "default", which is ReadOnly: backups cannot be written to it',
    ]);
  });
});

describe('crossDocumentIssues: restic copies need the location’s restic repository', () => {
  const s3 = (name: string, spec: Record<string, unknown> = {}) =>
    entry('StorageLocation', name, { provider: 'aws', objectStorage: { bucket: 'b' }, ...spec });
  const moving = (name: string, template: Record<string, unknown>) =>
    entry('BackupSchedule', name, { schedule: '@daily', template });

  it('warns when snapshotMoveData or defaultVolumesToFsBackup go to a location without spec.restic, and leaves the schedule valid', () => {
    const entries = [
      s3('plain'),
      moving('mv', { storageLocation: 'plain', snapshotMoveData: true, defaultVolumesToFsBackup: true }),
      restore('r', 'mv'),
    ];
    const found = crossDocumentIssues(entries);
    expect(found.get(entries[1] as DocumentEntry)).toEqual([
      expect.objectContaining({
        severity: 'warning',
        path: ['spec', 'template', 'snapshotMoveData'],
        message:
          'snapshotMoveData copies volume data with restic, but StorageLocation "plain" has no spec.restic (the repository password Secret): every such volume of these backups will fail, naming it',
      }),
      expect.objectContaining({
        severity: 'warning',
        path: ['spec', 'template', 'defaultVolumesToFsBackup'],
      }),
    ]);
    // The Restore that names the schedule is not told it is invalid.
    expect(found.has(entries[2] as DocumentEntry)).toBe(false);
  });

  it('warns for a local or the built-in location, and not for one with spec.restic or a backup asking for none', () => {
    expect(
      check([location('disk'), entry('Backup', 'once', { storageLocation: 'disk', snapshotMoveData: true })]),
    ).toEqual([
      'once: spec.snapshotMoveData: snapshotMoveData copies volume data with restic, but StorageLocation "disk" is a local directory (provider local), which holds no restic repository: every such volume of these backups will fail, naming it',
    ]);
    expect(check([moving('fs', { defaultVolumesToFsBackup: true })])).toEqual([
      "fs: spec.template.defaultVolumesToFsBackup: defaultVolumesToFsBackup copies volume data with restic, but backups go to lifeboat's built-in local directory, which holds no restic repository: every such volume of these backups will fail, naming it",
    ]);
    const restic = { restic: { passwordSecretRef: { name: 'restic', key: 'password' } } };
    expect(
      check([
        s3('primary', { default: true, ...restic }),
        moving('mv', { snapshotMoveData: true }),
        moving('kept', { storageLocation: 'primary', snapshotMoveData: false }),
      ]),
    ).toEqual([]);
  });
});
