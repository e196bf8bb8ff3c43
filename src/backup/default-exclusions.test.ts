import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import {
  EXCLUDE_FROM_BACKUP_LABEL,
  hasExcludeLabel,
  isRestorable,
  namespacesExcludedByLabel,
  NON_RESTORABLE_RESOURCES,
  nonRestorableReason,
} from './default-exclusions.js';

describe('non-restorable resources (Velero nonRestorableResources)', () => {
  it('lists Velero’s resources, the allocation records of v1.34 and the node agent’s work items, each with a reason', () => {
    expect(NON_RESTORABLE_RESOURCES.map((entry) => entry.groupResource).sort()).toEqual(
      [
        'backuprepositories.velero.io',
        'backups.velero.io',
        'csinodes.storage.k8s.io',
        'events',
        'events.events.k8s.io',
        'nodes',
        'resticrepositories.velero.io',
        'restores.velero.io',
        'volumeattachments.storage.k8s.io',
        'ipaddresses.networking.k8s.io',
        'csistoragecapacities.storage.k8s.io',
        'resourceslices.resource.k8s.io',
        'podvolumebackups.lifeboat.dev',
        'podvolumerestores.lifeboat.dev',
      ].sort(),
    );
    for (const entry of NON_RESTORABLE_RESOURCES) expect(entry.reason.length).toBeGreaterThan(20);
  });

  it.each<[string, boolean]>([
    ['nodes', false],
    ['events', false],
    ['events.events.k8s.io', false],
    ['volumeattachments.storage.k8s.io', false],
    ['ipaddresses.networking.k8s.io', false],
    ['servicecidrs.networking.k8s.io', true],
    ['leases.coordination.k8s.io', true],
    ['pods', true],
    ['deployments.apps', true],
    ['schedules.velero.io', true],
    ['node', true], // canonical names only: resolve first
  ])('%s restorable: %s', (groupResource, expected) => {
    expect(isRestorable(groupResource)).toBe(expected);
    expect(nonRestorableReason(groupResource) === undefined).toBe(expected);
  });
});

describe('the exclude-from-backup label', () => {
  const ns = (name: string, value?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, ...(value === undefined ? {} : { labels: { [EXCLUDE_FROM_BACKUP_LABEL]: value } }) },
  });

  it.each<[KubeObject, boolean]>([
    [ns('a', 'true'), true],
    [ns('a', 'True'), false],
    [ns('a', 'false'), false],
    [ns('a'), false],
  ])('%j → %s', (object, expected) => {
    expect(hasExcludeLabel(object)).toBe(expected);
  });

  it('names the namespaces a backup must treat as excluded', () => {
    expect(
      namespacesExcludedByLabel([ns('web'), ns('vault', 'true'), ns('cache', 'true'), ns('db', 'no')]),
    ).toEqual(['cache', 'vault']);
  });
});
