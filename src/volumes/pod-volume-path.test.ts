import { describe, expect, it } from 'vitest';
import { pickVolumeDir } from './pod-volume-path.js';

describe('pickVolumeDir', () => {
  const podDir = '/var/lib/kubelet/pods/uid-1';

  it('finds an emptyDir by the pod volume name', () => {
    expect(
      pickVolumeDir({
        podDir,
        plugins: {
          'kubernetes.io~empty-dir': ['cache', 'data'],
          'kubernetes.io~projected': ['kube-api-access'],
        },
        name: 'data',
      }),
    ).toBe('/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~empty-dir/data');
  });

  it('finds a CSI volume by the PersistentVolume name, in its mount directory', () => {
    expect(pickVolumeDir({ podDir, plugins: { 'kubernetes.io~csi': ['pvc-123'] }, name: 'pvc-123' })).toBe(
      '/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/pvc-123/mount',
    );
  });

  it('finds nothing for a volume that is not mounted', () => {
    expect(
      pickVolumeDir({ podDir, plugins: { 'kubernetes.io~empty-dir': ['x'] }, name: 'data' }),
    ).toBeUndefined();
  });
});
