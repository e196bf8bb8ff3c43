// Turning an object from a backup into one that can be created in a (possibly different)
// cluster: drop what the old cluster assigned, skip what the new cluster's controllers will
// recreate, and label what the restore creates. Each rule names the Velero code it follows
// (vmware-tanzu/velero pkg/restore/restore.go and pkg/restore/actions/*) and says where
// lifeboat differs. Pure: the input is never mutated.
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../kube/types.js';
import { groupOfApiVersion, isJsonMap } from './strategic-merge.js';

export interface SanitizeOptions {
  groupResource: string;
  /** Keep `status` (Velero's restoreStatus.includedResources matched this resource). */
  restoreStatus: boolean;
  /** Velero spec.preserveNodePorts: keep every Service nodePort. */
  preserveNodePorts: boolean;
  backupName: string;
  restoreName: string;
  /**
   * Velero spec.restorePVs. A volume without a snapshot takes Velero's "no snapshot" path here,
   * which does not depend on this flag; claims with a CSI snapshot follow it in csi-restore.ts.
   */
  restorePVs?: boolean;
}

export type SanitizeResult = { object: KubeObject; skip?: never } | { skip: string; object?: never };

export class SanitizeError extends Error {
  constructor(objectRef: string, detail: string) {
    super(`cannot prepare ${objectRef} for restore: ${detail}`);
    this.name = 'SanitizeError';
  }
}

/** Labels on every restored object, so a restore's objects can be found and traced to a backup. */
export const BACKUP_NAME_LABEL = 'lifeboat.dev/backup-name';
export const RESTORE_NAME_LABEL = 'lifeboat.dev/restore-name';
/**
 * Velero's own labels (pkg/apis/velero/v1 labels_annotations.go) are set too: lifeboat archives
 * are Velero archives, and tools that find restored objects by `velero.io/restore-name` (and
 * Velero itself, when it later restores over them) then treat lifeboat's restores alike.
 */
export const VELERO_BACKUP_NAME_LABEL = 'velero.io/backup-name';
export const VELERO_RESTORE_NAME_LABEL = 'velero.io/restore-name';
export const RESTORE_LABELS = [
  BACKUP_NAME_LABEL,
  RESTORE_NAME_LABEL,
  VELERO_BACKUP_NAME_LABEL,
  VELERO_RESTORE_NAME_LABEL,
] as const;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function sanitizeForRestore(obj: KubeObject, opts: SanitizeOptions): SanitizeResult {
  const ref = objectRef(obj, opts.groupResource);
  if (!isJsonMap(obj.metadata)) throw new SanitizeError(ref, 'metadata is missing');
  const skip = skipReason(obj, opts.groupResource);
  if (skip !== undefined) return { skip };

  const out = structuredClone(obj);
  // Read before resetMetadata drops managedFields: they tell explicit nodePorts from allocated ones.
  if (opts.groupResource === 'services') resetService(out, opts.preserveNodePorts, ref);
  resetMetadata(out.metadata);
  if (!opts.restoreStatus) delete out.status;
  switch (opts.groupResource) {
    case 'persistentvolumes':
      resetPersistentVolume(out);
      break;
    case 'persistentvolumeclaims':
      resetPersistentVolumeClaim(out);
      break;
    case 'secrets':
      resetTokenSecret(out);
      break;
    case 'serviceaccounts':
      dropTokenSecretRefs(out);
      break;
    case 'pods':
      resetPod(out);
      break;
    case 'jobs.batch':
      resetJob(out);
      break;
  }
  addRestoreLabels(out.metadata, opts);
  return { object: out };
}

// --- skips -------------------------------------------------------------------------------

/**
 * Owners whose controllers rebuild their children from their own spec, deterministically.
 * Velero restores such children with ownerReferences stripped and lets the controller adopt them
 * by selector (defaultRestorePriorities: "Pods go before controllers…", "Replica sets go before
 * deployments…"). lifeboat restores no pod volume data, so nothing is gained by restoring them,
 * and skipping avoids a plan full of generated names (Pods) that would be adopted, scaled down
 * or duplicated. A Deployment's ReplicaSets are the exception: they hold its rollout history. Children of other controllers (operators, CRs)
 * are restored as Velero does, ownerReferences removed: an operator finds them again by name,
 * and skipping them could force work such as re-issuing certificates.
 */
const REBUILDING_OWNERS = new Set([
  'apps/Deployment',
  'apps/ReplicaSet',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'batch/Job',
  'batch/CronJob',
  '/ReplicationController',
  '/Service',
]);

/** Values of `endpointslice.kubernetes.io/managed-by` set by kube-controller-manager. */
const CONTROLLER_MANAGED_SLICES = new Set([
  'endpointslice-controller.k8s.io',
  'endpointslicemirroring-controller.k8s.io',
]);

function skipReason(obj: KubeObject, groupResource: string): string | undefined {
  const controller = (obj.metadata.ownerReferences ?? []).find((o) => o.controller === true);
  const owner = controller ? `${groupOfApiVersion(controller.apiVersion)}/${controller.kind}` : '';
  // A Deployment's ReplicaSets are its rollout history (`kubectl rollout history`, `rollout
  // undo`), numbered by deployment.kubernetes.io/revision; the controller cannot rebuild old
  // ones. They are restored, as Velero does, owner reference removed; the restored Deployment
  // adopts them by selector and takes the current one (same pod-template-hash) as its own.
  if (groupResource === 'replicasets.apps' && owner === 'apps/Deployment') return undefined;
  if (controller && REBUILDING_OWNERS.has(owner)) {
    return `controlled by ${controller.kind} ${controller.name}, which recreates it`;
  }
  return SKIP_RULES[groupResource]?.(obj);
}

const SKIP_RULES: Record<string, (obj: KubeObject) => string | undefined> = {
  pods: (obj) => {
    // restore.go restoreItem: "Not restoring pod because it's a mirror pod".
    if (obj.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) {
      return 'mirror pod: the kubelet recreates it from its static manifest';
    }
    // restore.go isCompleted: finished Pods are history, not state.
    const phase = (obj.status as { phase?: unknown } | undefined)?.phase;
    return phase === 'Succeeded' || phase === 'Failed' ? `pod has completed (phase ${phase})` : undefined;
  },
  // restore.go isCompleted: a completed Job would run again if re-created.
  'jobs.batch': (obj) =>
    (obj.status as { completionTime?: unknown } | undefined)?.completionTime
      ? 'job has completed'
      : undefined,
  // Velero restores Endpoints (before Services); lifeboat skips those the endpoints controller
  // maintains — it marks them with this annotation — and the apiserver's own default/kubernetes,
  // because they are rebuilt from the new cluster's Pods. Endpoints of selector-less Services
  // carry no such mark and are restored.
  endpoints: (obj) => {
    if (obj.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] !== undefined) {
      return 'maintained by the endpoints controller from its Service';
    }
    return obj.metadata.namespace === 'default' && obj.metadata.name === 'kubernetes'
      ? 'maintained by the apiserver'
      : undefined;
  },
  secrets: (obj) => tokenSecretSkip(obj),
  // The apiserver registers an APIService for each group it serves itself (built-in groups and
  // CRD groups) and marks it so; only aggregated APIs that someone registered are restored.
  'apiservices.apiregistration.k8s.io': (obj) =>
    obj.metadata.labels?.['kube-aggregator.kubernetes.io/automanaged'] !== undefined
      ? 'registered by the apiserver for a group it serves itself'
      : undefined,
  'leases.coordination.k8s.io': (obj) => controlPlaneLeaseSkip(obj),
  // The default ServiceCIDR is made by the apiserver from --service-cluster-ip-range; others are
  // a person's choice to widen the range and are restored.
  'servicecidrs.networking.k8s.io': (obj) =>
    obj.metadata.name === 'kubernetes'
      ? 'the apiserver creates the default ServiceCIDR from its own --service-cluster-ip-range'
      : undefined,
  // The apiserver writes the mandatory and suggested flow-control objects itself and keeps them
  // current while this annotation is true; a restored copy would be rewritten (or fight it).
  'flowschemas.flowcontrol.apiserver.k8s.io': (obj) => autoUpdatedFlowControl(obj),
  'prioritylevelconfigurations.flowcontrol.apiserver.k8s.io': (obj) => autoUpdatedFlowControl(obj),
  // default/kubernetes points at the apiserver itself and is maintained by it.
  services: (obj) => apiserverServiceSkip(obj),
  'endpointslices.discovery.k8s.io': (obj) => apiserverServiceSkip(obj) ?? controllerSliceSkip(obj),
  // restore.go restoreItem, hasDeleteReclaimPolicy: a dynamically provisioned volume without a
  // snapshot is provisioned anew for its restored claim.
  persistentvolumes: (obj) =>
    (obj.spec as { persistentVolumeReclaimPolicy?: unknown } | undefined)?.persistentVolumeReclaimPolicy ===
    'Delete'
      ? 'reclaim policy Delete and no volume snapshot: its claim provisions a new volume'
      : undefined,
};

function controllerSliceSkip(obj: KubeObject): string | undefined {
  const manager = obj.metadata.labels?.['endpointslice.kubernetes.io/managed-by'];
  return manager !== undefined && CONTROLLER_MANAGED_SLICES.has(manager)
    ? `managed by ${manager}, which recreates it from its Service`
    : undefined;
}

function apiserverServiceSkip(obj: KubeObject): string | undefined {
  return obj.metadata.namespace === 'default' && obj.metadata.name === 'kubernetes'
    ? 'maintained by the apiserver, which points it at itself'
    : undefined;
}

function autoUpdatedFlowControl(obj: KubeObject): string | undefined {
  return obj.metadata.annotations?.['apf.kubernetes.io/autoupdate-spec'] === 'true'
    ? 'the apiserver maintains this flow-control object (apf.kubernetes.io/autoupdate-spec)'
    : undefined;
}

/** Leader-election leases of the control plane's own components in kube-system. */
const CONTROL_PLANE_LEADER_LEASES = new Set([
  'kube-controller-manager',
  'kube-scheduler',
  'cloud-controller-manager',
]);

/**
 * Leases that are heartbeats of the cluster's own members: written every few seconds by their
 * holders, meaningless (or harmful: the update policy rewrote the live apiserver's own lease)
 * with the old cluster's holders and times. Other leases — an operator's leader election — are
 * restored like any object.
 */
function controlPlaneLeaseSkip(obj: KubeObject): string | undefined {
  const { namespace, name = '', labels } = obj.metadata;
  if (namespace === 'kube-node-lease') return "a node's heartbeat, renewed by its kubelet";
  if (labels?.['apiserver.kubernetes.io/identity'] !== undefined) {
    return "a kube-apiserver's identity lease, renewed by that apiserver";
  }
  if (namespace === 'kube-system' && CONTROL_PLANE_LEADER_LEASES.has(name)) {
    return `the leader-election lease of ${name}, held by the running control plane`;
  }
  return undefined;
}

/**
 * actions/secret_action.go: a token Secret that the token controller created for a
 * ServiceAccount (`<sa>-token-…`) is recreated by it, so it is skipped. Velero recognises it by
 * listing the namespace's ServiceAccounts; the Secret's own service-account.name annotation says
 * the same without a cluster call.
 */
function tokenSecretSkip(obj: KubeObject): string | undefined {
  if (obj.type !== 'kubernetes.io/service-account-token') return undefined;
  const sa = obj.metadata.annotations?.['kubernetes.io/service-account.name'];
  if (sa && (obj.metadata.name ?? '').startsWith(`${sa}-token-`)) {
    return `service account token generated for ${sa}: the token controller recreates it`;
  }
  return undefined;
}

// --- metadata ----------------------------------------------------------------------------

/**
 * restore.go resetMetadata: the fields the old cluster assigned. Differences: Velero also always
 * drops generateName; lifeboat keeps it for an object without a name (it could not be created
 * otherwise). Velero re-applies managedFields after creating; lifeboat drops them, so field
 * ownership starts with the restore instead of naming the old cluster's managers.
 * ownerReferences go as in Velero: the owners get new UIDs, and a child pointing at a UID that
 * does not exist is deleted by the garbage collector (children of rebuilding controllers were
 * skipped above).
 */
function resetMetadata(meta: ObjectMeta): void {
  for (const field of [
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'selfLink',
    'managedFields',
    'ownerReferences',
  ]) {
    delete meta[field];
  }
  if (meta.name) delete meta.generateName;
}

/** restore.go addRestoreLabels, with Velero's label.GetValidName for values over 63 characters. */
function addRestoreLabels(meta: ObjectMeta, opts: SanitizeOptions): void {
  const backup = validLabelValue(opts.backupName);
  const restore = validLabelValue(opts.restoreName);
  meta.labels = {
    ...meta.labels,
    [BACKUP_NAME_LABEL]: backup,
    [RESTORE_NAME_LABEL]: restore,
    [VELERO_BACKUP_NAME_LABEL]: backup,
    [VELERO_RESTORE_NAME_LABEL]: restore,
  };
}

/** Velero pkg/label GetValidName: longer names keep 57 characters plus 6 hex of their sha256. */
export function validLabelValue(name: string): string {
  if (name.length <= 63) return name;
  return name.slice(0, 57) + createHash('sha256').update(name).digest('hex').slice(0, 6);
}

// --- services ----------------------------------------------------------------------------

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

/**
 * actions/service_action.go. An allocated cluster IP belongs to the old cluster's service range,
 * so it is cleared unless the Service is headless (`None`, which is a choice, not an allocation).
 * lifeboat differs from Velero for a cluster IP the user set (named in last-applied-configuration
 * or owned in managedFields): it is kept, and the plan says whether it is free.
 * NodePorts are cleared unless preserveNodePorts, except those the user set explicitly —
 * named in kubectl's last-applied-configuration or, without it, owned in managedFields —
 * and so is an allocated healthCheckNodePort.
 */
function resetService(svc: KubeObject, preserveNodePorts: boolean, ref: string): void {
  const spec = svc.spec as
    | {
        clusterIP?: string;
        clusterIPs?: string[];
        type?: string;
        ports?: ServicePort[];
        [k: string]: unknown;
      }
    | undefined;
  if (!isJsonMap(spec)) return;
  const explicit = explicitServiceFields(svc, ref);
  // A cluster IP the user chose (a well-known DNS address, an IP in a firewall rule) is kept;
  // whether it is free in the target cluster is checked when the plan is made (cluster-ip.ts).
  if (spec.clusterIP !== 'None' && !explicit.clusterIP) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (preserveNodePorts || spec.type === 'ExternalName') return;
  for (const port of spec.ports ?? []) {
    if (port.nodePort === undefined) continue;
    const kept = port.name ? explicit.names.has(port.name) : explicit.unnamed.has(port.nodePort);
    if (!kept && !explicit.keys.has(portKey(port))) delete port.nodePort;
  }
  if (spec.healthCheckNodePort !== undefined && !explicit.healthCheckNodePort)
    delete spec.healthCheckNodePort;
}

interface ExplicitNodePorts {
  names: Set<string>;
  unnamed: Set<number>;
  /** managedFields port keys, `k:{"port":80,"protocol":"TCP"}`. */
  keys: Set<string>;
  healthCheckNodePort: boolean;
  /** spec.clusterIP was written by someone, not allocated by the apiserver. */
  clusterIP: boolean;
}

function explicitServiceFields(svc: KubeObject, ref: string): ExplicitNodePorts {
  const found: ExplicitNodePorts = {
    names: new Set(),
    unnamed: new Set(),
    keys: new Set(),
    healthCheckNodePort: false,
    clusterIP: false,
  };
  const lastApplied = svc.metadata.annotations?.[LAST_APPLIED];
  if (lastApplied !== undefined) readLastApplied(lastApplied, found, ref);
  else readManagedFields(svc.metadata.managedFields ?? [], found);
  return found;
}

/** kubectl apply records what the user wrote; a nodePort there was chosen, not allocated. */
function readLastApplied(lastApplied: string, found: ExplicitNodePorts, ref: string): void {
  let applied: unknown;
  try {
    applied = JSON.parse(lastApplied);
  } catch {
    throw new SanitizeError(ref, `annotation ${LAST_APPLIED} is not valid JSON`);
  }
  const spec = isJsonMap(applied) && isJsonMap(applied.spec) ? applied.spec : {};
  for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isJsonMap(port) || !(Number(port.nodePort) > 0)) continue;
    if (typeof port.name === 'string' && port.name !== '') found.names.add(port.name);
    else found.unnamed.add(Number(port.nodePort));
  }
  found.healthCheckNodePort = Number(spec.healthCheckNodePort) > 0;
  found.clusterIP = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None';
}

/** Server-side apply records what each manager set; `f:nodePort` means someone chose it. */
function readManagedFields(managedFields: unknown[], found: ExplicitNodePorts): void {
  for (const entry of managedFields) {
    const fields = isJsonMap(entry) && isJsonMap(entry.fieldsV1) ? entry.fieldsV1 : {};
    const spec = isJsonMap(fields['f:spec']) ? fields['f:spec'] : {};
    if (spec['f:healthCheckNodePort'] !== undefined) found.healthCheckNodePort = true;
    // The apiserver allocates a cluster IP after field management ran, so an allocated IP is
    // owned by no manager; an owned one was in some client's request.
    if (spec['f:clusterIP'] !== undefined) found.clusterIP = true;
    const ports = isJsonMap(spec['f:ports']) ? spec['f:ports'] : {};
    for (const [key, value] of Object.entries(ports)) {
      if (isJsonMap(value) && value['f:nodePort'] !== undefined) found.keys.add(key);
    }
  }
}

function portKey(port: ServicePort): string {
  return `k:{"port":${port.port ?? 0},"protocol":"${port.protocol ?? 'TCP'}"}`;
}

// --- volumes -----------------------------------------------------------------------------

const BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';

/**
 * restore.go resetVolumeBindingInfo (the "restore as-is" path for a Retain volume): claimRef
 * keeps the claim's namespace and name — namespace mapping already moved it — but loses uid and
 * resourceVersion, so the PV is pre-bound to the restored claim, which has a new UID; the
 * binding annotations go so the PV controller binds the pair afresh.
 */
function resetPersistentVolume(pv: KubeObject): void {
  const claimRef = (pv.spec as { claimRef?: Record<string, unknown> } | undefined)?.claimRef;
  if (isJsonMap(claimRef)) {
    delete claimRef.uid;
    delete claimRef.resourceVersion;
  }
  deleteAnnotations(pv.metadata, [BIND_COMPLETED, BOUND_BY_CONTROLLER]);
}

/**
 * actions/pvc_action.go removePVCAnnotations. volumeName stays: whether the claim keeps it
 * depends on where its volume is — restored, surviving in the cluster, or gone — which
 * volume-binding.ts decides with the whole restore and the live cluster at hand. selected-node
 * is dropped: Velero keeps it if the node still exists, which a pure function cannot check; the
 * scheduler sets it again.
 */
function resetPersistentVolumeClaim(pvc: KubeObject): void {
  deleteAnnotations(pvc.metadata, [
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    'volume.beta.kubernetes.io/storage-provisioner',
    'volume.kubernetes.io/storage-provisioner',
    'volume.kubernetes.io/selected-node',
  ]);
}

function deleteAnnotations(meta: ObjectMeta, keys: string[]): void {
  if (!meta.annotations) return;
  for (const key of keys) delete meta.annotations[key];
  if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
}

// --- service accounts and tokens ---------------------------------------------------------

/**
 * actions/secret_action.go: a token Secret someone created by hand (kept above) is restored
 * without the token, CA and UID annotation, which the token controller fills in for the new
 * ServiceAccount; with them the apiserver would keep a token signed for the old UID.
 */
function resetTokenSecret(secret: KubeObject): void {
  if (secret.type !== 'kubernetes.io/service-account-token') return;
  deleteAnnotations(secret.metadata, ['kubernetes.io/service-account.uid']);
  if (isJsonMap(secret.data)) {
    delete secret.data.token;
    delete secret.data['ca.crt'];
  }
}

/**
 * actions/service_account_action.go: references to generated token Secrets (`<sa>-token-…`),
 * which are not restored, are removed. Velero removes the last such entry; lifeboat removes all.
 */
function dropTokenSecretRefs(sa: KubeObject): void {
  if (!Array.isArray(sa.secrets)) return;
  const prefix = `${sa.metadata.name ?? ''}-token-`;
  sa.secrets = (sa.secrets as { name?: unknown }[]).filter(
    (s) => !(typeof s?.name === 'string' && s.name.startsWith(prefix)),
  );
}

// --- pods --------------------------------------------------------------------------------

interface PodSpecPart {
  nodeName?: string;
  priority?: number;
  serviceAccountName?: string;
  volumes?: { name?: string }[];
  containers?: { volumeMounts?: { name?: string }[] }[];
  initContainers?: { volumeMounts?: { name?: string }[] }[];
}

/**
 * actions/pod_action.go: a bare Pod (controlled ones were skipped) is scheduled afresh
 * (nodeName), takes its priority from its PriorityClass again (priority), and loses the old
 * token volumes, which the ServiceAccount admission plugin mounts anew.
 */
function resetPod(pod: KubeObject): void {
  if (!isJsonMap(pod.spec)) return;
  const spec = pod.spec as PodSpecPart;
  delete spec.nodeName;
  delete spec.priority;
  const prefix = `${spec.serviceAccountName ?? 'default'}-token-`;
  const keep = (v: { name?: string } | null) => !(v?.name ?? '').startsWith(prefix);
  if (Array.isArray(spec.volumes)) spec.volumes = spec.volumes.filter(keep);
  for (const list of [spec.containers, spec.initContainers]) {
    for (const c of Array.isArray(list) ? list : []) {
      if (Array.isArray(c?.volumeMounts)) c.volumeMounts = c.volumeMounts.filter(keep);
    }
  }
}

// --- jobs ------------------------------------------------------------------------------

/** Labels the apiserver puts on a Job's selector and pod template: its own UID. */
const JOB_UID_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid'];

/**
 * actions/job_action.go (Velero issue 6711): unless the user chose the selector
 * (`manualSelector: true`), the apiserver generates it from the Job's UID and refuses a selector
 * it did not generate ("selector not auto-generated"). The restored Job gets a new UID, so the
 * UID labels go from the selector and the template and the apiserver generates them again. A
 * selector left with only the `job-name` labels is dropped whole: those come back with the
 * same values, and an empty selector would be refused too.
 */
function resetJob(job: KubeObject): void {
  if (!isJsonMap(job.spec) || job.spec.manualSelector === true) return;
  const spec = job.spec as { selector?: { matchLabels?: Record<string, string> }; template?: unknown };
  const template = isJsonMap(spec.template) ? spec.template : undefined;
  const templateLabels = isJsonMap(template?.metadata) ? template.metadata.labels : undefined;
  if (isJsonMap(templateLabels)) for (const l of JOB_UID_LABELS) delete templateLabels[l];
  delete spec.selector;
}

// --- helpers -----------------------------------------------------------------------------

export function objectRef(obj: KubeObject, groupResource: string): string {
  const meta = isJsonMap(obj.metadata) ? obj.metadata : {};
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/` : '';
  return `${groupResource} ${ns}${typeof meta.name === 'string' ? meta.name : '(no name)'}`;
}
