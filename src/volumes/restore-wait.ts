// The restore-helper pattern (Velero's restore-helper init container): a pod whose volumes are
// restored from file-system backups gets a first init container that waits until the node
// agent has filled and verified each of those volumes and left the marker
// <volume>/.lifeboat-restore/<restore name>. The workload starts only on complete data.
import { RESTORE_MARKER_DIR } from './agent.js';
import type { SecurityContext } from './pod-security.js';

export const RESTORE_WAIT_CONTAINER = 'lifeboat-restore-wait';

export interface InitContainer {
  name: string;
  image: string;
  command: string[];
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: SecurityContext;
}

/**
 * The init container for `volumes` of a pod restored by `restoreName`; image: lifeboat's (has
 * sh); securityContext: pod-security.ts restoreWaitContext of the pod.
 */
export function restoreWaitContainer(o: {
  restoreName: string;
  volumes: readonly string[];
  image: string;
  securityContext: SecurityContext;
}): InitContainer {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.restoreName)) {
    throw new Error(`restore name ${JSON.stringify(o.restoreName)} is not a valid object name`);
  }
  const mounts = o.volumes.map((v, i) => ({ name: v, mountPath: `/restore/${i}` }));
  const tests = mounts
    .map((m) => `[ -f ${m.mountPath}/${RESTORE_MARKER_DIR}/${o.restoreName} ]`)
    .join(' && ');
  return {
    name: RESTORE_WAIT_CONTAINER,
    image: o.image,
    command: ['sh', '-c', `until ${tests}; do sleep 1; done`],
    volumeMounts: mounts,
    securityContext: o.securityContext,
  };
}
