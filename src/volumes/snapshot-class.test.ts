import { describe, expect, it } from 'vitest';
import type { VolumeSnapshotClass } from '../kube/snapshots.js';
import { chooseSnapshotClass } from './snapshot-class.js';

function cls(
  name: string,
  driver: string,
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): VolumeSnapshotClass {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: { name, ...meta },
    driver,
    deletionPolicy: 'Delete',
  };
}

const labelled = cls('labelled', 'd', { labels: { 'velero.io/csi-volumesnapshot-class': 'true' } });
const byDefault = cls('default', 'd', {
  annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
});
const plain = cls('plain', 'd');
const other = cls('other', 'e');

function pick(o: Partial<Parameters<typeof chooseSnapshotClass>[0]>): string {
  const c = chooseSnapshotClass({
    driver: 'd',
    claimAnnotations: {},
    backupClasses: undefined,
    classes: [],
    ...o,
  });
  if ('class' in c) return `class ${c.class.metadata.name ?? ''} (${c.why})`;
  return 'error' in c ? `error: ${c.error}` : `none: ${c.none}`;
}

describe("chooseSnapshotClass, in Velero's order", () => {
  it("takes the claim's annotation first, then the backup's choice for the driver", () => {
    const classes = [labelled, byDefault, plain, other];
    expect(pick({ classes, claimAnnotations: { 'velero.io/csi-volumesnapshot-class': 'plain' } })).toBe(
      "class plain (named by the claim's annotation velero.io/csi-volumesnapshot-class)",
    );
    expect(pick({ classes, backupClasses: { D: 'default' } })).toBe(
      'class default (named by csiVolumeSnapshotClasses.D)',
    );
  });

  it('then the labelled class, the default class, the only class of the driver', () => {
    expect(pick({ classes: [plain, byDefault, labelled] })).toBe(
      'class labelled (labelled velero.io/csi-volumesnapshot-class)',
    );
    expect(pick({ classes: [plain, byDefault] })).toBe('class default (the default class of its driver)');
    expect(pick({ classes: [plain, other] })).toBe('class plain (the only class of its driver)');
  });

  it('names what is wrong: a missing class, one of another driver, no class, several unmarked', () => {
    expect(pick({ classes: [plain], backupClasses: { d: 'gone' } })).toBe(
      'error: VolumeSnapshotClass gone (named by csiVolumeSnapshotClasses.d) does not exist',
    );
    expect(
      pick({ classes: [plain, other], claimAnnotations: { 'velero.io/csi-volumesnapshot-class': 'other' } }),
    ).toBe(
      "error: VolumeSnapshotClass other (named by the claim's annotation velero.io/csi-volumesnapshot-class) is for driver e, not d",
    );
    expect(pick({ classes: [other] })).toBe('none: no VolumeSnapshotClass for driver d');
    expect(pick({ classes: [plain, cls('plain2', 'd')] })).toMatch(
      /^error: driver d has 2 VolumeSnapshotClasses/,
    );
  });
});
