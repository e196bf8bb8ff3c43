import { describe, expect, it } from 'vitest';
import { moverName, moverPod, pendingReason } from './mover-pod.js';
import { HELPER_UID } from './pod-security.js';

describe('moverName', () => {
  const base = { kind: 'backup' as const, owner: 'nightly-1', namespace: 'shop', claim: 'data' };

  it('is the same for the same claim of the same run, so a retry finds its own leftovers', () => {
    expect(moverName(base)).toBe(moverName({ ...base }));
    expect(moverName(base)).toMatch(/^lifeboat-move-[0-9a-f]{20}$/);
  });

  it('differs between backup and restore, runs, namespaces and claims', () => {
    const names = new Set([
      moverName(base),
      moverName({ ...base, kind: 'restore' }),
      moverName({ ...base, owner: 'nightly-2' }),
      moverName({ ...base, namespace: 'shop2' }),
      moverName({ ...base, claim: 'data2' }),
    ]);
    expect(names.size).toBe(5);
  });

  it('is a valid label value and object name whatever the claim name', () => {
    expect(moverName({ ...base, claim: 'x'.repeat(253) }).length).toBeLessThanOrEqual(63);
  });
});

describe('moverPod', () => {
  it('mounts the claim read-only for a backup, never restarts, has no API token and dies at once', () => {
    const pod = moverPod({
      namespace: 'shop',
      name: 'lifeboat-move-1',
      claim: 'tmp-claim',
      image: 'img',
      readOnly: true,
      labels: { a: 'b' },
      annotations: { c: 'd' },
    });
    expect(pod.metadata).toEqual({
      name: 'lifeboat-move-1',
      namespace: 'shop',
      labels: { a: 'b' },
      annotations: { c: 'd' },
    });
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      containers: [{ image: 'img', volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'tmp-claim', readOnly: true } }],
    });
  });

  it('passes the restricted Pod Security level: non-root, no escalation, no capabilities, RuntimeDefault', () => {
    const pod = moverPod({
      namespace: 'shop',
      name: 'm',
      claim: 'c',
      image: 'img',
      readOnly: false,
      labels: {},
      annotations: {},
    });
    expect(pod.spec).toMatchObject({
      securityContext: {
        runAsNonRoot: true,
        runAsUser: HELPER_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [{ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    });
    // fsGroup would make the kubelet change the group of every file of the claim at mount.
    expect(pod.spec).not.toHaveProperty('securityContext.fsGroup');
  });
});

describe('pendingReason', () => {
  it("names the scheduler's reason, or the container's", () => {
    const unscheduled = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {},
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', message: '0/1 nodes are available' }],
      },
    };
    expect(pendingReason(unscheduled)).toBe('Pending, not scheduled: 0/1 nodes are available');
    const pulling = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {},
      status: {
        phase: 'Pending',
        containerStatuses: [{ state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }],
      },
    };
    expect(pendingReason(pulling)).toBe('Pending, container waiting: ErrImagePull (not found)');
    expect(pendingReason({ apiVersion: 'v1', kind: 'Pod', metadata: {} })).toBe('Pending');
  });
});
