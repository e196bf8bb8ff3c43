// The securityContext of the containers lifeboat adds to a cluster: the data mover's and the
// moved claims' fill pod, and the restore-wait init container of restored pods. A namespace
// labelled pod-security.kubernetes.io/enforce: restricted refuses any pod that does not run as
// non-root with privilege escalation off, every capability dropped and the RuntimeDefault
// seccomp profile (the PodSecurity admission plugin, on by default). None of these containers
// touches volume data: the node agent reads and writes it as root through the kubelet's pod
// directory, so the uid they run as changes no file's owner. No fsGroup is set either: the
// kubelet would then change the group of every file of the volume at mount. Pure.

/** The uid of lifeboat's helper containers: the "nonroot" user of distroless images. */
export const HELPER_UID = 65532;

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string; localhostProfile?: string };
  [field: string]: unknown;
}

/** The pod-level half for a pod of lifeboat's own (the data mover's and the fill pod). */
export function restrictedPodContext(): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: HELPER_UID,
    runAsGroup: HELPER_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The container-level half, which the restricted level asks of each container itself. */
export function restrictedContainerContext(): SecurityContext {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
}

interface PodSpecShape {
  securityContext?: { runAsUser?: unknown };
  containers?: { securityContext?: unknown }[];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The restore-wait container's securityContext in a restored pod. It must be admitted wherever
 * the workload is, and it must see the restore marker in each volume, which the workload's user
 * can. So, as Velero's restore helper does: a copy of the first container's securityContext when
 * that says how the workload runs; otherwise restricted settings, running as the pod's user when
 * the pod names one (a pod that runs as root is left so: it cannot be in a restricted namespace,
 * and the uid may be what reads the volume) or else as HELPER_UID.
 */
export function restoreWaitContext(podSpec: unknown): SecurityContext {
  const spec: PodSpecShape = isMap(podSpec) ? podSpec : {};
  const first = spec.containers?.[0]?.securityContext;
  if (isMap(first) && Object.keys(first).length > 0) return structuredClone(first);
  const podUser = isMap(spec.securityContext) ? spec.securityContext.runAsUser : undefined;
  return {
    ...(podUser === 0 ? {} : { runAsNonRoot: true }),
    ...(typeof podUser === 'number' ? {} : { runAsUser: HELPER_UID }),
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
