// Loading a repository from disk: which files are read, multi-document files, what an
// invalid document does to the others, and what a valid document carries.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  countDocumentMarkers,
  listPolicyFiles,
  loadPolicyFiles,
  loadPolicyRepo,
  POLICY_FILE_LIMITS,
} from './load.js';
import { createSchemaValidator } from './schema.js';

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
const validator = createSchemaValidator();

const LOCAL_LOCATION = y(
  'apiVersion: lifeboat.dev/v1',
  'kind: StorageLocation',
  'metadata:',
  '  name: disk',
  'spec:',
  '  provider: local',
  '  path: /var/backups',
);
const SCHEDULE = y(
  '# yaml-language-server: $schema=../schema/backup-schedule.json',
  'apiVersion: lifeboat.dev/v1',
  'kind: BackupSchedule',
  'metadata:',
  '  name: nightly',
  'spec:',
  '  schedule: "0 2 * * *"',
  '  template:',
  '    includedNamespaces: [shop]',
  '    storageLocation: disk',
);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-policy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(files: Record<string, string>): Promise<void> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

describe('loadPolicyRepo', () => {
  it('returns the two good documents of a repository with one bad file', async () => {
    await write({
      'storage-locations/disk.yaml': LOCAL_LOCATION,
      'schedules/nightly.yaml': SCHEDULE,
      'backups/broken.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: broken }',
        'spec:',
        '  ttl: soon',
      ),
    });
    const { documents, errors } = await loadPolicyRepo({ dir, validator });
    expect(documents.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'BackupSchedule/nightly',
      'StorageLocation/disk',
    ]);
    expect(errors).toEqual([
      {
        file: 'backups/broken.yaml',
        line: 5,
        column: 8,
        path: 'spec.ttl',
        code: 'duration',
        message: 'invalid duration "soon": unexpected text at "soon" (use Go syntax like "720h" or "1h30m")',
        document: { kind: 'Backup', name: 'broken' },
      },
    ]);
  });

  it('skips the reconciler trees, schemas, examples, hidden directories and non-YAML files', async () => {
    const broken = y('this is: [not valid');
    await write({
      'schedules/nightly.yml': SCHEDULE,
      'storage-locations/disk.YAML': LOCAL_LOCATION,
      'status/nightly.yaml': broken,
      'plans/restore-1.yaml': broken,
      'schema/x.yaml': broken,
      'examples/restore.yaml': broken,
      '.git/config.yaml': broken,
      '.github/workflows/ci.yml': broken,
      'teams/.hidden/x.yaml': broken,
      'README.md': '# policies',
      'notes.txt': broken,
      // Only the top-level trees are the reconciler's: a nested status/ is an ordinary folder.
      'teams/status/backup.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: team-backup }',
        'spec: {}',
      ),
    });
    expect(await listPolicyFiles(dir)).toEqual([
      'schedules/nightly.yml',
      'storage-locations/disk.YAML',
      'teams/status/backup.yaml',
    ]);
    const { documents, errors } = await loadPolicyRepo({ dir, validator });
    expect(errors).toEqual([]);
    expect(documents).toHaveLength(3);
  });

  it('loads examples/ when the caller does not skip it', async () => {
    await write({
      'examples/backup.yaml': y(
        'apiVersion: lifeboat.dev/v1',
        'kind: Backup',
        'metadata: { name: e }',
        'spec: {}',
      ),
    });
    const { documents } = await loadPolicyRepo({ dir, validator, skip: ['status', 'plans', 'schema'] });
    expect(documents.map((d) => d.source.file)).toEqual(['examples/backup.yaml']);
  });

  it('fails with the directory named when the repository cannot be read', async () => {
    const missing = join(dir, 'nope');
    await expect(loadPolicyRepo({ dir: missing, validator })).rejects.toThrow(
      `cannot read policy repository ${missing}`,
    );
  });
});

describe('loadPolicyFiles', () => {
  it('keeps the valid documents of a multi-document file and skips empty ones', () => {
    const text = y(
      '# three documents and an empty one',
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: first }',
      'spec: {}',
      '---',
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: second }',
      'spec: { ttl: 0h }',
      '---',
      '# nothing here',
      '---',
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: third }',
      'spec: {}',
    );
    const { documents, errors } = loadPolicyFiles([{ file: 'backups.yaml', text }], { validator });
    expect(documents.map((d) => [d.metadata.name, d.source.index, d.source.line, d.source.column])).toEqual([
      ['first', 0, 2, 1],
      ['third', 3, 14, 1],
    ]);
    expect(errors.map((e) => [e.line, e.column, e.path, e.message])).toEqual([
      [10, 14, 'spec.ttl', 'ttl must be positive (got "0h"); for example "720h"'],
    ]);
  });

  it('applies the schema defaults and records where each field was written', () => {
    const { documents, errors } = loadPolicyFiles(
      [
        { file: 'storage-locations/disk.yaml', text: LOCAL_LOCATION },
        { file: 'schedules/nightly.yaml', text: SCHEDULE },
      ],
      { validator },
    );
    expect(errors).toEqual([]);
    const schedule = documents.find((d) => d.kind === 'BackupSchedule');
    expect(schedule).toMatchObject({
      apiVersion: 'lifeboat.dev/v1',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 2 * * *',
        timeZone: 'UTC',
        paused: false,
        skipImmediately: false,
        template: {
          includedNamespaces: ['shop'],
          storageLocation: 'disk',
          ttl: '720h',
          includeClusterResources: 'auto',
        },
      },
      source: { file: 'schedules/nightly.yaml', index: 0, line: 2, column: 1 },
    });
    expect(schedule?.source.fields).toMatchObject({
      'metadata.name': { line: 5, column: 9 },
      'spec.template.includedNamespaces[0]': { line: 9, column: 26 },
      'spec.template.storageLocation': { line: 10, column: 22 },
    });
    // Defaults are not positions: nobody wrote them.
    expect(schedule?.source.fields['spec.timeZone']).toBeUndefined();
  });

  it('lets a storageLocation name the built-in default location', () => {
    const text = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: b }',
      'spec: { storageLocation: default }',
    );
    expect(loadPolicyFiles([{ file: 'b.yaml', text }], { validator }).errors).toEqual([]);
  });

  it('tells a backup without storageLocation that the default location is invalid', () => {
    const location = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: StorageLocation',
      'metadata:',
      '  name: main',
      'spec: { provider: local, default: true }',
    );
    const backup = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: b }',
      'spec:',
      '  ttl: 1h',
    );
    const { errors } = loadPolicyFiles(
      [
        { file: 'l.yaml', text: location },
        { file: 'b.yaml', text: backup },
      ],
      { validator },
    );
    expect(errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.path}: ${e.message}`)).toEqual([
      'b.yaml:4:1 spec: no storageLocation is set, so backups go to the default StorageLocation "main", which is invalid (l.yaml:4:9); fix it first',
      'l.yaml:5:1 spec.path: provider local needs "path", the backup directory',
    ]);
  });

  it('reports a reference to a document whose YAML is broken as a reference to an invalid document', () => {
    const location = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: StorageLocation',
      'metadata:',
      '  name: disk',
      'spec: { provider: local, path: [x }',
    );
    const backup = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: Backup',
      'metadata: { name: b }',
      'spec: { storageLocation: disk }',
    );
    const { errors } = loadPolicyFiles(
      [
        { file: 'l.yaml', text: location },
        { file: 'b.yaml', text: backup },
      ],
      { validator },
    );
    expect(errors.find((e) => e.file === 'b.yaml')).toMatchObject({
      line: 4,
      column: 26,
      path: 'spec.storageLocation',
      code: 'reference',
      message: 'StorageLocation "disk" is invalid (l.yaml:4:9); fix it first',
      related: [{ file: 'l.yaml', line: 4, column: 9 }],
    });
    expect(errors.filter((e) => e.file === 'l.yaml').map((e) => e.code)).toContain('yaml');
  });

  it('never repeats an inline credential value in its messages', () => {
    const secret = 'AKIAIOSFODNN7EXAMPLE';
    const text = y(
      'apiVersion: lifeboat.dev/v1',
      'kind: StorageLocation',
      'metadata: { name: s3 }',
      'spec:',
      '  provider: aws',
      `  objectStorage: { bucket: ${secret} }`,
      `  credential: ${secret}`,
      '  accessMode: ' + secret,
    );
    const { errors } = loadPolicyFiles([{ file: 'l.yaml', text }], { validator });
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const error of errors) expect(JSON.stringify(error)).not.toContain(secret);
  });
});

describe('symlinks', () => {
  it('refuses a symlinked policy file by name, without reading its target', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'lifeboat-outside-'));
    try {
      await writeFile(join(outside, 'secret.yaml'), 'kind: TOP-SECRET-CONTENT\n');
      await write({ 'storage-locations/disk.yaml': LOCAL_LOCATION });
      await symlink(join(outside, 'secret.yaml'), join(dir, 'storage-locations', 'leak.yaml'));
      const { documents, errors } = await loadPolicyRepo({ dir, validator });
      expect(documents.map((d) => d.metadata.name)).toEqual(['disk']);
      expect(errors).toEqual([
        {
          file: 'storage-locations/leak.yaml',
          line: 1,
          column: 1,
          path: '',
          code: 'symlink',
          message:
            'is a symbolic link; policy files must be regular files in the repository (symlinks are never followed)',
        },
      ]);
      expect(JSON.stringify(errors)).not.toContain('TOP-SECRET');
      expect(await listPolicyFiles(dir)).toEqual(['storage-locations/disk.yaml']);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('does not walk a symlinked directory', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'lifeboat-outside-'));
    try {
      await writeFile(join(outside, 'other.yaml'), 'kind: TOP-SECRET-CONTENT\n');
      await symlink(outside, join(dir, 'linked'));
      const { documents, errors } = await loadPolicyRepo({ dir, validator });
      expect([documents, errors]).toEqual([[], []]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('file limits', () => {
  it('refuses a file with too many documents before parsing it, naming the file', () => {
    const text = 'a: 1\n---\n'.repeat(60_000);
    const { documents, errors } = loadPolicyFiles([{ file: 'many.yaml', text }], { validator });
    expect(documents).toEqual([]);
    expect(errors).toEqual([
      expect.objectContaining({
        file: 'many.yaml',
        line: 1,
        code: 'limit',
        message: expect.stringContaining(`a policy file may hold at most ${POLICY_FILE_LIMITS.maxDocuments}`),
      }),
    ]);
  });

  it('refuses a file over the size limit without reading it', async () => {
    await write({
      'big.yaml': `# ${'x'.repeat(POLICY_FILE_LIMITS.maxBytes)}\n`,
      'disk.yaml': LOCAL_LOCATION,
    });
    const { documents, errors } = await loadPolicyRepo({ dir, validator });
    expect(documents.map((d) => d.metadata.name)).toEqual(['disk']);
    expect(errors.map((e) => [e.file, e.code])).toEqual([['big.yaml', 'limit']]);
    expect(errors[0]?.message).toMatch(/may be at most 1048576 bytes/);
  });

  it.each<[string, number]>([
    ['', 0],
    ['a: 1\n', 1],
    ['---\na: 1\n', 1],
    ['a: 1\n---\nb: 2\n--- # three\nc: 3\n', 3],
    ['key: |\n  ---\n  indented\n', 1],
  ])('counts at least the documents of %j', (text, expected) => {
    expect(countDocumentMarkers(text)).toBe(expected);
  });
});
