// Which VolumeSnapshotClass a claim's snapshot uses, in Velero's order
// (pkg/util/csi/volume_snapshot.go GetVolumeSnapshotClass): the claim's own annotation, then the
// backup's choice for the driver, then the driver's class labelled velero.io/csi-volumesnapshot-class,
// then the one annotated as the cluster default, then the driver's only class.
import type { VolumeSnapshotClass } from '../kube/snapshots.js';

export const CLASS_SELECTOR_LABEL = 'velero.io/csi-volumesnapshot-class';
export const CLAIM_CLASS_ANNOTATION = 'velero.io/csi-volumesnapshot-class';
export const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

export type ClassChoice =
  | { class: VolumeSnapshotClass; why: string }
  /** A class was named (by the claim or the backup) but is missing or of another driver. */
  | { error: string }
  /** The driver has no class: its volumes cannot be snapshotted. */
  | { none: string };

export function chooseSnapshotClass(o: {
  driver: string;
  claimAnnotations: Record<string, string>;
  /** The backup's csiVolumeSnapshotClasses: driver → class. */
  backupClasses: Record<string, string> | undefined;
  classes: readonly VolumeSnapshotClass[];
}): ClassChoice {
  const byName = (name: string, where: string): ClassChoice => {
    const found = o.classes.find((c) => c.metadata.name === name);
    if (!found) return { error: `VolumeSnapshotClass ${name} (named by ${where}) does not exist` };
    if (found.driver !== o.driver)
      return {
        error: `VolumeSnapshotClass ${name} (named by ${where}) is for driver ${found.driver}, not ${o.driver}`,
      };
    return { class: found, why: `named by ${where}` };
  };
  const onClaim = o.claimAnnotations[CLAIM_CLASS_ANNOTATION];
  if (onClaim) return byName(onClaim, `the claim's annotation ${CLAIM_CLASS_ANNOTATION}`);
  const backupKey = Object.keys(o.backupClasses ?? {}).find(
    (d) => d.toLowerCase() === o.driver.toLowerCase(),
  );
  if (backupKey !== undefined)
    return byName(o.backupClasses![backupKey]!, `csiVolumeSnapshotClasses.${backupKey}`);
  const forDriver = o.classes.filter((c) => c.driver === o.driver);
  const labelled = forDriver.find((c) => c.metadata.labels?.[CLASS_SELECTOR_LABEL] !== undefined);
  if (labelled) return { class: labelled, why: `labelled ${CLASS_SELECTOR_LABEL}` };
  const byDefault = forDriver.find((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  if (byDefault) return { class: byDefault, why: 'the default class of its driver' };
  if (forDriver.length === 1) return { class: forDriver[0]!, why: 'the only class of its driver' };
  if (forDriver.length === 0) return { none: `no VolumeSnapshotClass for driver ${o.driver}` };
  return {
    error:
      `driver ${o.driver} has ${forDriver.length} VolumeSnapshotClasses and none is labelled ` +
      `${CLASS_SELECTOR_LABEL} or annotated ${DEFAULT_CLASS_ANNOTATION}; label one or name it in csiVolumeSnapshotClasses`,
  };
}
