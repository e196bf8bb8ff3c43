import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_STORAGE_LOCATION,
  documentsOfKind,
  policyErrorAt,
  resolveStorageLocation,
  toBackupSpec,
  toRestoreSpec,
} from './convert.js';
import { loadPolicyFiles } from './load.js';
import type { BackupTemplate, PolicyDocument, RestoreDocument } from './types.js';

const source = { file: 'x.yaml', index: 0, line: 1, column: 1, fields: {} };

describe('toBackupSpec', () => {
  it.each<[BackupTemplate['includeClusterResources'], boolean | undefined]>([
    ['auto', undefined],
    [true, true],
    [false, false],
  ])('includeClusterResources %j becomes %j', (value, expected) => {
    const spec = toBackupSpec({ includeClusterResources: value, ttl: '1h' });
    expect(spec.includeClusterResources).toBe(expected);
    expect('includeClusterResources' in spec).toBe(expected !== undefined);
  });

  it('keeps every other field and does not share arrays with the document', () => {
    const template: BackupTemplate = {
      includedNamespaces: ['shop'],
      excludedResources: ['events'],
      labelSelector: { matchLabels: { tier: 'web' } },
      orLabelSelectors: undefined,
      includeClusterResources: 'auto',
      ttl: '720h',
      storageLocation: 'primary',
    };
    const spec = toBackupSpec(template);
    expect(spec).toEqual({
      includedNamespaces: ['shop'],
      excludedResources: ['events'],
      labelSelector: { matchLabels: { tier: 'web' } },
      ttl: '720h',
      storageLocation: 'primary',
    });
    spec.includedNamespaces?.push('other');
    expect(template.includedNamespaces).toEqual(['shop']);
  });
});

describe('toRestoreSpec', () => {
  it('gives the engine a Velero RestoreSpec', () => {
    const document: RestoreDocument = {
      apiVersion: 'lifeboat.dev/v1',
      kind: 'Restore',
      metadata: { name: 'r' },
      source,
      spec: {
        scheduleName: 'nightly',
        includeClusterResources: 'auto',
        existingResourcePolicy: 'update',
        namespaceMapping: { shop: 'shop-2' },
        resourceModifiers: {
          version: 'v1',
          resourceModifierRules: [
            { conditions: { groupResource: 'pods' }, patches: [{ operation: 'remove', path: '/a' }] },
          ],
        },
      },
    };
    expect(toRestoreSpec(document)).toEqual({
      scheduleName: 'nightly',
      existingResourcePolicy: 'update',
      namespaceMapping: { shop: 'shop-2' },
      resourceModifiers: {
        version: 'v1',
        resourceModifierRules: [
          { conditions: { groupResource: 'pods' }, patches: [{ operation: 'remove', path: '/a' }] },
        ],
      },
    });
    expect(
      toRestoreSpec({ ...document, spec: { ...document.spec, includeClusterResources: false } })
        .includeClusterResources,
    ).toBe(false);
  });
});

describe('resolveStorageLocation', () => {
  const location = (name: string, isDefault: boolean): PolicyDocument => ({
    apiVersion: 'lifeboat.dev/v1',
    kind: 'StorageLocation',
    metadata: { name },
    source,
    spec: { provider: 'local', path: `/${name}`, accessMode: 'ReadWrite', default: isDefault },
  });

  it.each<[string, PolicyDocument[], string | undefined, string | undefined]>([
    ['the named location', [location('a', false), location('b', true)], 'a', 'a'],
    ['the one marked default', [location('a', false), location('b', true)], undefined, 'b'],
    ['the one named default', [location('default', false), location('a', false)], undefined, 'default'],
    ['a missing name', [location('a', false)], 'nas', undefined],
  ])('picks %s', (_title, documents, name, expected) => {
    expect(resolveStorageLocation(documents, name)?.name).toBe(expected);
  });

  it('falls back to the built-in local directory', () => {
    expect(resolveStorageLocation([location('a', false)])).toEqual(BUILT_IN_STORAGE_LOCATION);
    expect(resolveStorageLocation([], 'default')).toEqual({
      name: 'default',
      spec: { provider: 'local', path: '.lifeboat/backups', accessMode: 'ReadWrite', default: false },
    });
  });
});

describe('documentsOfKind and policyErrorAt', () => {
  const text = [
    'apiVersion: lifeboat.dev/v1',
    'kind: BackupSchedule',
    'metadata: { name: nightly }',
    'spec:',
    '  schedule: "@daily"',
    '  template:',
    '    includedNamespaces: [shop]',
    '',
  ].join('\n');
  const { documents } = loadPolicyFiles([{ file: 'schedules/nightly.yaml', text }]);

  it('filters by kind with the right type', () => {
    const schedules = documentsOfKind(documents, 'BackupSchedule');
    expect(schedules.map((s) => s.spec.schedule)).toEqual(['@daily']);
    expect(documentsOfKind(documents, 'Restore')).toEqual([]);
  });

  it('points a later error at the field, or at the nearest field the author wrote', () => {
    const [schedule] = documentsOfKind(documents, 'BackupSchedule');
    if (!schedule) throw new Error('schedule not loaded');
    expect(
      policyErrorAt(schedule, {
        path: ['spec', 'template', 'includedNamespaces', 0],
        message: 'm',
        code: 'reference',
      }),
    ).toEqual({
      file: 'schedules/nightly.yaml',
      line: 7,
      column: 26,
      path: 'spec.template.includedNamespaces[0]',
      message: 'm',
      code: 'reference',
      document: { kind: 'BackupSchedule', name: 'nightly' },
    });
    expect(
      policyErrorAt(schedule, {
        path: ['spec', 'template', 'storageLocation'],
        message: 'm',
        code: 'reference',
      }),
    ).toMatchObject({
      line: 7,
      column: 5,
      path: 'spec.template.storageLocation',
    });
    expect(policyErrorAt(schedule, { message: 'm', code: 'storage' })).toMatchObject({
      line: 1,
      column: 1,
      path: '',
    });
  });
});
