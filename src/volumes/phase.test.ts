import { describe, expect, it } from 'vitest';
import type { ClaimRecord, PodRecord } from './collect.js';
import { groupByPod } from './phase.js';

const claim = (name: string): ClaimRecord => ({
  namespace: 'shop',
  name,
  uid: `u-${name}`,
  volumeName: `pv-${name}`,
  labels: {},
  annotations: {},
});

const pod = (name: string, volumes: PodRecord['volumes']): PodRecord => ({
  namespace: 'shop',
  name,
  uid: `u-${name}`,
  node: 'n1',
  phase: 'Running',
  volumes,
  annotations: {},
});

const summary = (groups: ReturnType<typeof groupByPod>) =>
  groups.map((g) => ({ pod: g.pod?.name, claims: g.claims.map((c) => c.name), fs: g.fsVolumes }));

describe('groupByPod', () => {
  const db = pod('db', [
    { name: 'data', type: 'persistentVolumeClaim', claimName: 'data' },
    { name: 'logs', type: 'persistentVolumeClaim', claimName: 'logs' },
    { name: 'tmp', type: 'emptyDir' },
  ]);
  const reader = pod('reader', [{ name: 'shared', type: 'persistentVolumeClaim', claimName: 'data' }]);

  it('groups claims by the first pod that mounts them; lone claims alone', () => {
    expect(summary(groupByPod([db, reader], [claim('data'), claim('logs'), claim('orphan')]))).toEqual([
      { pod: 'db', claims: ['data', 'logs'], fs: [] },
      { pod: undefined, claims: ['orphan'], fs: [] },
    ]);
  });

  it('a volume chosen for a file-system copy is copied through its pod and never snapshotted', () => {
    const fs = (p: PodRecord) => (p.name === 'db' ? ['data', 'tmp'] : []);
    expect(summary(groupByPod([db, reader], [claim('data'), claim('logs')], fs))).toEqual([
      { pod: 'db', claims: ['logs'], fs: ['data', 'tmp'] },
    ]);
  });

  it('a claim copied through a later pod is not snapshotted through an earlier one', () => {
    const fs = (p: PodRecord) => (p.name === 'reader' ? ['shared'] : []);
    expect(summary(groupByPod([db, reader], [claim('data'), claim('logs')], fs))).toEqual([
      { pod: 'db', claims: ['logs'], fs: [] },
      { pod: 'reader', claims: [], fs: ['shared'] },
    ]);
  });

  it('a pod with only an emptyDir to copy is a group of its own', () => {
    const web = pod('web', [{ name: 'cache', type: 'emptyDir' }]);
    expect(summary(groupByPod([web], [], () => ['cache']))).toEqual([
      { pod: 'web', claims: [], fs: ['cache'] },
    ]);
  });
});
