// The restore plan: for every object of the backup, what a restore would do to the cluster —
// create, update, unchanged, skip, conflict or invalid — with the field differences, summary
// counts and a hash that pins the plan. Pure: the I/O side reads the archive and the cluster
// (filling `live` and `dryRunError`); buildPlan only decides (the changesets model:
// get → assemble → apply). A person approves the plan by merging it; before applying, the
// reconciler rebuilds it and applies only if the hash is the one approved.
//
// Decisions follow Velero's restoreItem (pkg/restore/restore.go) for existing objects:
// identical → nothing to do; different and existingResourcePolicy `none` (or unset) → skipped
// with Velero's warning; `update` → updated. lifeboat adds `conflict` for updates that cannot
// or should not happen (immutable fields, objects another controller owns) so they are
// reviewed instead of failing half-way through an apply.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/types.js';
import { canonicalJsonCompact } from './canonical-json.js';
import type { DiffEntry, FieldChange } from './diff.js';
import { diffEntries, fieldNames, toFieldChanges } from './diff.js';
import { applyResourceModifiers, ResourceModifierError } from './modifiers.js';
import { mapNamespacesInPlace, SYSTEM_NAMESPACES, systemNamespaceWarning } from './namespace-mapping.js';
import type { Priorities } from './order.js';
import { DEFAULT_RESTORE_PRIORITIES, restoreTiers } from './order.js';
import { isSecret, redactEntries, redactObject, scrubText, secretValueForms } from './redact.js';
import { RESTORE_LABELS, SanitizeError, sanitizeForRestore } from './sanitize.js';
import { gitopsTrackingOf, stripGitopsTracking, trackingMessage } from './gitops-tracking.js';
import type { RestoreSpec } from './spec.js';
import { groupOfApiVersion } from './strategic-merge.js';
import { stringifyJson } from '../util/json.js';
import type { BackupMaker } from '../backup/archive-checksum.js';
import { csiRestoreTransform, type CsiRestoreContext } from './csi-restore.js';
import { plannedHooks, withInitHooks, type PlannedHook } from '../hooks/restore-hooks.js';
import {
  copiedVolumeSkip,
  withRestoreWait,
  type FsRestoreContext,
  type PlannedPodVolume,
} from './fs-volumes.js';
import { freshIfMoved, movedVolumeSkip, type MovedClaimCopy } from './moved-claims.js';

export const PLAN_ACTIONS = ['create', 'update', 'unchanged', 'skip', 'conflict', 'invalid'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlanInputItem {
  groupResource: string;
  apiVersion: string;
  kind: string;
  /** Target namespace (after namespace mapping); '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  /** The object to restore, prepared by prepareDesiredObject; null when it is not restored. */
  desired: KubeObject | null;
  /** Why `desired` is null (sanitize skipped it). */
  skipReason?: string;
  /** The object in the cluster now, or null. */
  live: KubeObject | null;
  /** The apiserver's answer to a dry-run create/update, when it refused. */
  dryRunError?: string;
  /** Why the object cannot be restored at all (bad archive entry, modifier error, kind not served…). */
  invalidReason?: string;
  /** Warnings found by looking beyond the object (backends.ts: a webhook's Service is missing). */
  warnings?: string[];
  /** What will happen beyond the object itself (volume-binding.ts: which volume a claim gets). */
  notes?: string[];
  /**
   * A surviving Released volume's claimRef.uid, which the restore clears so the volume binds to
   * its restored claim (volume-binding.ts staleClaimUid). `desired` then holds what to apply.
   */
  staleClaimUid?: string;
  /** A pod's volumes the backup copied with restic (fs-volumes.ts withRestoreWait). */
  podVolumes?: PlannedPodVolume[];
  /**
   * The object's namespace does not exist in the cluster: the restore creates it, and the
   * cluster's controllers then add what every new namespace gets (see serverMadeReason).
   */
  namespaceNew?: boolean;
}

export interface PlanInput {
  restoreName: string;
  backupName: string;
  /** Checksum of the backup archive the plan was made from; '' when none is recorded. */
  backupSha256: string;
  /** Who made the backup (backup/archive-checksum.ts); says why a checksum may be missing. */
  backupMadeBy?: BackupMaker;
  /** About the restore as a whole (an unverified archive); not part of the hash. */
  warnings?: string[];
  spec: RestoreSpec;
  items: PlanInputItem[];
  /** Restore order; Velero's defaults when absent. */
  priorities?: Priorities;
}

export interface PlanItem {
  groupResource: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: PlanAction;
  /** Index into RestorePlan.tiers. */
  tier: number;
  /** Why the action is skip, conflict or invalid. */
  reason?: string;
  warnings?: string[];
  /** What will happen beyond the object itself, for the reviewer (which volume a claim binds to). */
  notes?: string[];
  /**
   * A surviving volume bound again to its restored claim: apply removes the stale
   * claimRef.uid and resourceVersion (volume-binding.ts), after writing the object under `update`.
   */
  rebindVolume?: boolean;
  /** Field differences, Secret values fingerprinted: every leaf for create, the changes for update/skip/conflict. */
  changes?: FieldChange[];
  /** Restore hooks of a pod that is created: init containers and exec hooks (src/hooks). */
  hooks?: PlannedHook[];
  /** A pod's volumes filled from file-system copies (restic) before it starts (fs-volumes.ts). */
  podVolumes?: PlannedPodVolume[];
}

/** What a restore does with one claim's volume (the plan's volumes section). */
export const VOLUME_ACTIONS = [
  'create-from-snapshot',
  'create-from-copy',
  'create',
  'skip',
  'conflict',
  'invalid',
] as const;
export type VolumeAction = (typeof VOLUME_ACTIONS)[number];

export interface PlanVolume {
  /** The claim in its target namespace. */
  namespace: string;
  claim: string;
  /** spec.resources.requests.storage. */
  size?: string;
  /** spec.storageClassName; absent: the cluster's default. */
  storageClass?: string;
  /** The backup's CSI snapshot of the claim, if it has one. */
  snapshot?: {
    /** `namespace/name` of the VolumeSnapshot in the backup. */
    volumeSnapshot: string;
    handle?: string;
    driver?: string;
    restoreSize?: string;
    /** The VolumeSnapshot the restore creates and the claim is made from. */
    restoredAs?: string;
  };
  /** The restic snapshot a moved claim is filled from (snapshotMoveData), if the backup moved it. */
  copy?: MovedClaimCopy;
  action: VolumeAction;
  /** Why skip, conflict or invalid; for create without a snapshot, what the claim gets. */
  reason?: string;
}

export type ActionCounts = Record<PlanAction | 'total', number>;

export interface PlanSummary {
  total: ActionCounts;
  /** '' is the row of cluster-scoped objects. Sorted by namespace. */
  byNamespace: ({ namespace: string } & ActionCounts)[];
  /** Sorted by kind, then group-resource. */
  byKind: ({ kind: string; groupResource: string } & ActionCounts)[];
}

export interface RestorePlan {
  apiVersion: 'lifeboat.dev/v1';
  kind: 'RestorePlan';
  restoreName: string;
  backupName: string;
  backupSha256: string;
  backupMadeBy?: BackupMaker;
  warnings?: string[];
  spec: RestoreSpec;
  /** sha256 of the canonical JSON of what the plan would do (see planHash). */
  hash: string;
  tiers: string[][];
  summary: PlanSummary;
  /** Every claim the restore touches and what happens to its volume; absent when none. */
  volumes?: PlanVolume[];
  items: PlanItem[];
}

export class PlanInputError extends Error {
  constructor(message: string) {
    super(`restore plan input: ${message}`);
    this.name = 'PlanInputError';
  }
}

/**
 * One object decided: its plan item (the tier is assigned when the plan is assembled) and the
 * digest the plan hash is built from. What the planner keeps of an object once it has been
 * decided, so planning a large restore holds no objects, only these.
 */
export interface DecidedItem {
  item: Omit<PlanItem, 'tier'>;
  /** sha256 of the item's identity, action and redacted target object (see itemDigest). */
  digest: string;
}

export type PlanHeader = Omit<PlanInput, 'items'>;

/** The whole plan from its input at once: decideItem for each, then assemblePlan. */
export function buildPlan(input: PlanInput): RestorePlan {
  checkInput(input);
  // Every form of every Secret value in the input, to scrub free text (errors, reasons) with.
  const secretForms = secretValueForms(input.items.flatMap((i) => [i.desired, i.live]));
  return assemblePlan(
    input,
    input.items.map((i) => decideItem(i, input.spec)),
    secretForms,
  );
}

/** What a restore would do with one object. Pure; needs only this object and its live twin. */
export function decideItem(
  item: PlanInputItem,
  spec: RestoreSpec,
  /** This object's Secret value forms, when the caller has them already. */
  ownSecretForms: string[] = secretValueForms([item.desired, item.live]),
): DecidedItem {
  checkItem(item);
  const decided = decide(item, spec);
  // This object's own Secret values are scrubbed here; assemblePlan scrubs with all of them.
  const scrub = (text: string) => scrubText(text, ownSecretForms, disclosedNames([item]));
  const planItem: Omit<PlanItem, 'tier'> = {
    groupResource: item.groupResource,
    apiVersion: item.apiVersion,
    kind: item.kind,
    namespace: item.namespace,
    name: item.name,
    action: decided.action,
  };
  if (decided.reason !== undefined) planItem.reason = scrub(decided.reason);
  const warnings = [...decided.warnings, ...(item.desired ? (item.warnings ?? []) : [])];
  if (warnings.length > 0) planItem.warnings = warnings.map(scrub);
  const notes = [...(item.desired ? (item.notes ?? []) : []), ...extraMetadataNotes(item, decided.action)];
  if (notes.length > 0) planItem.notes = notes.map(scrub);
  if (item.staleClaimUid !== undefined && decided.action === 'update') planItem.rebindVolume = true;
  if (decided.entries.length > 0 && item.desired) {
    planItem.changes = toFieldChanges(redactEntries(decided.entries, item.desired));
  }
  // Velero runs restore hooks only in pods it creates; a hook is part of what is approved.
  if (item.groupResource === 'pods' && item.desired && decided.action === 'create') {
    const { hooks, errors } = plannedHooks(item.desired, spec.hooks);
    if (hooks.length > 0) planItem.hooks = hooks;
    // A malformed exec hook annotation runs nothing; the reviewer sees why.
    if (errors.length > 0) planItem.warnings = [...(planItem.warnings ?? []), ...errors.map(scrub)];
  }
  const podVolumes = plannedPodVolumes(item, decided.action);
  if (podVolumes) planItem.podVolumes = podVolumes;
  return { item: planItem, digest: itemDigest(planItem, item.desired) };
}

/** Velero restores a pod's volume copies only into a pod it creates. */
function plannedPodVolumes(item: PlanInputItem, action: PlanAction): PlannedPodVolume[] | undefined {
  if (item.groupResource !== 'pods' || !item.podVolumes || item.podVolumes.length === 0) return undefined;
  return item.podVolumes.map((v) =>
    action === 'create' ? v : { ...v, action: 'skip', reason: `the pod is not created (${action})` },
  );
}

/**
 * The plan from its decided items, in any order: sorted into restore tiers, counted, hashed.
 * `secretForms` are every form of every Secret value the restore has seen; free text is
 * scrubbed of them once more, since a message about one object may quote another.
 */
export function assemblePlan(
  header: PlanHeader,
  decided: DecidedItem[],
  secretForms: string[],
  volumeList: PlanVolume[] = [],
): RestorePlan {
  checkUnique(decided.map((d) => d.item));
  const tiers = restoreTiers(
    unique(decided.map((d) => d.item.groupResource)),
    header.priorities ?? DEFAULT_RESTORE_PRIORITIES,
  );
  const tierOf = new Map(
    tiers.flatMap((tier, t) => tier.map((gr, position) => [gr, { t, position }] as const)),
  );
  const disclosed = disclosedNames(decided.map((d) => d.item));
  const scrub = (text: string) => scrubText(text, secretForms, disclosed);
  const ordered = [...decided].sort((x, y) => {
    const a = x.item;
    const b = y.item;
    const ta = tierOf.get(a.groupResource);
    const tb = tierOf.get(b.groupResource);
    return (
      (ta?.t ?? 0) - (tb?.t ?? 0) ||
      (ta?.position ?? 0) - (tb?.position ?? 0) ||
      compare(a.namespace, b.namespace) ||
      compare(a.name, b.name)
    );
  });
  const items = ordered.map(({ item }): PlanItem => {
    const planItem: PlanItem = { ...item, tier: tierOf.get(item.groupResource)?.t ?? 0 };
    if (planItem.reason !== undefined) planItem.reason = scrub(planItem.reason);
    if (planItem.warnings) planItem.warnings = planItem.warnings.map(scrub);
    return planItem;
  });
  const volumes = [...volumeList].sort(
    (a, b) => compare(a.namespace, b.namespace) || compare(a.claim, b.claim),
  );
  return {
    apiVersion: 'lifeboat.dev/v1',
    kind: 'RestorePlan',
    restoreName: header.restoreName,
    backupName: header.backupName,
    backupSha256: header.backupSha256,
    ...(header.backupMadeBy ? { backupMadeBy: header.backupMadeBy } : {}),
    ...(header.warnings && header.warnings.length > 0 ? { warnings: header.warnings } : {}),
    spec: header.spec,
    hash: planHash(header, ordered, volumes),
    tiers,
    summary: summarize(items),
    ...(volumes.length > 0 ? { volumes } : {}),
    items,
  };
}

/**
 * The names a plan shows in the clear — namespaces, object names, kinds and resources — which
 * scrubbing leaves standing in messages (redact.ts scrubText) even when a Secret holds one.
 */
export function disclosedNames(
  items: Iterable<Pick<PlanItem, 'groupResource' | 'kind' | 'namespace' | 'name'>>,
): Set<string> {
  const names = new Set<string>();
  for (const i of items) {
    for (const n of [i.namespace, i.name, i.kind, i.groupResource, i.groupResource.split('.')[0] ?? '']) {
      if (n !== '') names.add(n);
    }
  }
  return names;
}

// --- one item ----------------------------------------------------------------------------

interface Decision {
  action: PlanAction;
  reason?: string;
  warnings: string[];
  entries: DiffEntry[];
}

function decide(item: PlanInputItem, spec: RestoreSpec): Decision {
  const decision = decideAction(item, spec);
  // A write into a namespace the cluster owns is allowed, and said out loud in the plan.
  const system = systemNamespaceOf(item);
  if (system !== undefined && (decision.action === 'create' || decision.action === 'update'))
    decision.warnings.push(systemNamespaceWarning(system));
  return decision;
}

function systemNamespaceOf(item: PlanInputItem): string | undefined {
  const namespace = item.groupResource === 'namespaces' ? item.name : item.namespace;
  return namespace !== undefined && SYSTEM_NAMESPACES.includes(namespace) ? namespace : undefined;
}

function decideAction(item: PlanInputItem, spec: RestoreSpec): Decision {
  const { desired, live } = item;
  if (item.invalidReason !== undefined) {
    return { action: 'invalid', reason: item.invalidReason, warnings: [], entries: [] };
  }
  if (desired === null) return { action: 'skip', reason: item.skipReason, warnings: [], entries: [] };
  const managed = clusterManagedReason(item) ?? (live === null ? serverMadeReason(item, desired) : undefined);
  if (managed !== undefined) return { action: 'skip', reason: managed, warnings: [], entries: [] };

  if (item.staleClaimUid !== undefined && live !== null) return rebind({ ...item, desired }, live, spec);
  const entries = diffEntries(desired, live);
  if (live === null) {
    const warnings = createWarnings(item);
    if (item.dryRunError !== undefined)
      return { action: 'invalid', reason: item.dryRunError, warnings, entries };
    return { action: 'create', warnings, entries };
  }
  if (entries.length === 0) return { action: 'unchanged', warnings: [], entries };
  if (spec.existingResourcePolicy !== 'update') {
    // restore.go restoreItem: the Velero warning, whether the policy is `none` or unset.
    const warning = `could not restore, ${item.kind} "${item.name}" already exists. Warning: the in-cluster version is different than the backed-up version.`;
    return {
      action: 'skip',
      reason: 'exists and differs; existingResourcePolicy is not update',
      warnings: [warning],
      entries,
    };
  }
  const conflict = conflictReason(item.groupResource, entries, live);
  if (conflict !== undefined) return { action: 'conflict', reason: conflict, warnings: [], entries };
  if (item.dryRunError !== undefined)
    return { action: 'invalid', reason: item.dryRunError, warnings: [], entries };
  return { action: 'update', warnings: [], entries };
}

/**
 * Keys the cluster's own controllers put on live objects; their absence from a backup says
 * nothing about what a person changed.
 */
const CONTROLLER_METADATA_PREFIXES = [
  'deployment.kubernetes.io/',
  'pv.kubernetes.io/',
  'volume.kubernetes.io/',
  'volume.beta.kubernetes.io/',
  'endpoints.kubernetes.io/',
  'kubernetes.io/metadata.name',
  'lifeboat.dev/',
  'velero.io/',
];

/**
 * Labels and annotations on the live object that the backup does not have. The comparison is a
 * subset one (diff.ts: what the restore would write), so they are no difference and the restore
 * leaves them in place, even under `update`; the plan says so, or they would go unseen.
 */
function extraMetadataNotes(item: PlanInputItem, action: PlanAction): string[] {
  const { desired, live } = item;
  if (!desired || !live || !['unchanged', 'update', 'skip'].includes(action)) return [];
  const notes: string[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const wanted = desired.metadata[field] ?? {};
    const extra = Object.keys(live.metadata[field] ?? {})
      .filter((k) => !(k in wanted) && !CONTROLLER_METADATA_PREFIXES.some((p) => k.startsWith(p)))
      .sort();
    if (extra.length > 0) {
      notes.push(
        `the live object has ${field} the backup does not (${extra.join(', ')}); the restore leaves them in place`,
      );
    }
  }
  return notes;
}

/**
 * A surviving Released volume bound again to its restored claim: an update whatever the
 * existingResourcePolicy, because the claim cannot bind otherwise; under `none` it changes only
 * claimRef (desired is volume-binding.ts rebindPatch), under `update` the whole backed-up volume.
 */
function rebind(
  item: PlanInputItem & { desired: KubeObject },
  live: KubeObject,
  spec: RestoreSpec,
): Decision {
  const entries: DiffEntry[] = [
    ...(spec.existingResourcePolicy === 'update' ? diffEntries(item.desired, live) : []),
    { segments: ['spec', 'claimRef', 'uid'], op: 'remove', before: item.staleClaimUid },
  ];
  const conflict =
    spec.existingResourcePolicy === 'update' ? conflictReason(item.groupResource, entries, live) : undefined;
  if (conflict !== undefined) return { action: 'conflict', reason: conflict, warnings: [], entries };
  if (item.dryRunError !== undefined)
    return { action: 'invalid', reason: item.dryRunError, warnings: [], entries };
  return { action: 'update', warnings: [], entries };
}

/**
 * Objects every namespace gets from the cluster itself. `kube-root-ca.crt` holds the *new*
 * cluster's CA (the root-ca-cert-publisher rewrites it); restoring the old one would break
 * in-cluster TLS until it is rewritten, so it is never restored. The `default` ServiceAccount is
 * compared like any object (people add imagePullSecrets to it), see createWarnings.
 */
function clusterManagedReason(item: PlanInputItem): string | undefined {
  if (item.groupResource === 'configmaps' && item.name === 'kube-root-ca.crt') {
    return "published by the cluster's root-ca-cert-publisher with the new cluster's CA";
  }
  if (
    item.groupResource === 'configmaps' &&
    item.namespace === 'kube-system' &&
    item.name === 'extension-apiserver-authentication'
  ) {
    return "written by the kube-apiserver at start-up with the new cluster's client CAs";
  }
  return undefined;
}

/** What the service account controller writes into every new namespace's `default` ServiceAccount. */
const DEFAULT_ACCOUNT_METADATA = new Set(['name', 'namespace', 'labels']);
const RESTORE_LABEL_KEYS = new Set<string>(RESTORE_LABELS);

/**
 * The `default` ServiceAccount of a namespace this restore creates, when the backed-up one holds
 * nothing but its name (and the restore's labels): the service account controller creates exactly
 * that with the namespace, so a create of it only races the controller (a 409 and an apply in
 * about half the namespaces, ADR 0036) to write what is there anyway. Velero, which loses the same
 * race, then leaves it as it is. One that holds more (imagePullSecrets, labels, annotations) is
 * still created or, after the race, applied (createWarnings).
 */
function serverMadeReason(item: PlanInputItem, desired: KubeObject): string | undefined {
  if (!item.namespaceNew || item.groupResource !== 'serviceaccounts' || item.name !== 'default')
    return undefined;
  const plain =
    Object.keys(desired).every((k) => k === 'apiVersion' || k === 'kind' || k === 'metadata') &&
    Object.keys(desired.metadata).every((k) => DEFAULT_ACCOUNT_METADATA.has(k)) &&
    Object.keys(desired.metadata.labels ?? {}).every((k) => RESTORE_LABEL_KEYS.has(k));
  return plain
    ? "created by the cluster's service account controller with the new namespace; the backed-up one holds nothing more"
    : undefined;
}

function createWarnings(item: PlanInputItem): string[] {
  if (item.groupResource === 'serviceaccounts' && item.name === 'default') {
    return [
      'the service account controller creates this ServiceAccount with its namespace; apply must treat "already exists" as an update',
    ];
  }
  return [];
}

// --- conflicts ---------------------------------------------------------------------------

interface ImmutableRule {
  /** Field names from the root; a change at or below one of these is immutable… */
  paths: string[][];
  /** …unless it is at or below one of these. */
  except?: string[][];
}

/**
 * Fields the apiserver refuses to change (validation in k8s.io/kubernetes pkg/apis/<group>/validation,
 * simplified): an update touching them fails, so the plan says conflict instead.
 */
const IMMUTABLE: Record<string, ImmutableRule> = {
  'deployments.apps': { paths: [['spec', 'selector']] },
  'replicasets.apps': { paths: [['spec', 'selector']] },
  'daemonsets.apps': { paths: [['spec', 'selector']] },
  'statefulsets.apps': {
    paths: [['spec']],
    except: [
      ['spec', 'replicas'],
      ['spec', 'template'],
      ['spec', 'updateStrategy'],
      ['spec', 'persistentVolumeClaimRetentionPolicy'],
      ['spec', 'minReadySeconds'],
      ['spec', 'ordinals'],
      ['spec', 'revisionHistoryLimit'],
    ],
  },
  'jobs.batch': {
    paths: [
      ['spec', 'selector'],
      ['spec', 'template'],
      ['spec', 'completionMode'],
    ],
  },
  services: {
    paths: [
      ['spec', 'clusterIP'],
      ['spec', 'clusterIPs'],
    ],
  },
  persistentvolumeclaims: {
    paths: [['spec']],
    except: [
      ['spec', 'resources'],
      ['spec', 'volumeAttributesClassName'],
    ],
  },
  persistentvolumes: {
    paths: [['spec']],
    except: [
      ['spec', 'capacity'],
      ['spec', 'accessModes'],
      ['spec', 'claimRef'],
      ['spec', 'persistentVolumeReclaimPolicy'],
      ['spec', 'mountOptions'],
      ['spec', 'storageClassName'],
      ['spec', 'volumeAttributesClassName'],
    ],
  },
  pods: {
    paths: [['spec']],
    except: [
      ['spec', 'containers', 'image'],
      ['spec', 'initContainers', 'image'],
      ['spec', 'activeDeadlineSeconds'],
      ['spec', 'tolerations'],
      ['spec', 'schedulingGates'],
    ],
  },
  'storageclasses.storage.k8s.io': {
    paths: [['provisioner'], ['parameters'], ['reclaimPolicy'], ['volumeBindingMode']],
  },
  'rolebindings.rbac.authorization.k8s.io': { paths: [['roleRef']] },
  'clusterrolebindings.rbac.authorization.k8s.io': { paths: [['roleRef']] },
  'customresourcedefinitions.apiextensions.k8s.io': {
    paths: [
      ['spec', 'scope'],
      ['spec', 'group'],
    ],
  },
  'ingressclasses.networking.k8s.io': { paths: [['spec', 'controller']] },
  'volumesnapshots.snapshot.storage.k8s.io': { paths: [['spec', 'source']] },
  'volumesnapshotcontents.snapshot.storage.k8s.io': { paths: [['spec', 'source']] },
};

/** Controllers whose objects must not be rewritten from a backup behind their back. */
function conflictReason(groupResource: string, entries: DiffEntry[], live: KubeObject): string | undefined {
  const immutable = immutableChange(groupResource, entries, live);
  if (immutable !== undefined) return `update would change immutable field ${immutable}`;
  const controller = (live.metadata.ownerReferences ?? []).find((o) => o.controller === true);
  if (controller !== undefined) {
    const group = groupOfApiVersion(controller.apiVersion);
    return `the live object is controlled by ${controller.kind} ${controller.name}${group ? ` (${group})` : ''}; updating it would fight its controller`;
  }
  return undefined;
}

function immutableChange(groupResource: string, entries: DiffEntry[], live: KubeObject): string | undefined {
  const rule: ImmutableRule | undefined =
    (groupResource === 'secrets' || groupResource === 'configmaps') && live.immutable === true
      ? { paths: [['data'], ['binaryData'], ['stringData'], ['immutable']] }
      : IMMUTABLE[groupResource];
  if (rule === undefined) return undefined;
  for (const entry of entries) {
    const names = fieldNames(entry.segments);
    const under = (prefix: string[]) => prefix.every((p, i) => names[i] === p);
    if (rule.paths.some(under) && !(rule.except ?? []).some(under)) return names.join('.');
  }
  return undefined;
}

// --- summary, order, hash ----------------------------------------------------------------

function emptyCounts(): ActionCounts {
  return { create: 0, update: 0, unchanged: 0, skip: 0, conflict: 0, invalid: 0, total: 0 };
}

function summarize(items: PlanItem[]): PlanSummary {
  const total = emptyCounts();
  const byNamespace = new Map<string, ActionCounts>();
  const byKind = new Map<string, { kind: string; groupResource: string; counts: ActionCounts }>();
  for (const item of items) {
    const ns = byNamespace.get(item.namespace) ?? emptyCounts();
    byNamespace.set(item.namespace, ns);
    const kindKey = `${item.kind}\u0000${item.groupResource}`;
    const kind = byKind.get(kindKey) ?? {
      kind: item.kind,
      groupResource: item.groupResource,
      counts: emptyCounts(),
    };
    byKind.set(kindKey, kind);
    for (const counts of [total, ns, kind.counts]) {
      counts[item.action]++;
      counts.total++;
    }
  }
  return {
    total,
    byNamespace: [...byNamespace.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([namespace, c]) => ({ namespace, ...c })),
    byKind: [...byKind.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([, k]) => ({ kind: k.kind, groupResource: k.groupResource, ...k.counts })),
  };
}

/**
 * What the plan commits to: the backup's checksum, the spec, and per object its identity,
 * action and the object it would write — each object as its digest (itemDigest), so the hash
 * is built without holding every object at once. The objects are hashed *redacted*: a Secret
 * value that changes still changes its fingerprint and so the hash, and the hash then carries
 * no more about a value than the plan file shows. Free text (reasons, dry-run messages) and the
 * live objects are left out, so the hash moves only when what would be written moves, not when
 * an error message or a defaulted field does.
 */
function planHash(header: PlanHeader, ordered: DecidedItem[], volumes: PlanVolume[]): string {
  const content = {
    format: 2,
    backupSha256: header.backupSha256,
    spec: header.spec,
    items: ordered.map((d) => d.digest),
    // Which volume comes back from which snapshot; only when there are volumes, so that plans
    // without any keep the hash they had.
    volumes: volumes.length > 0 ? volumes.map(({ reason: _reason, ...v }) => v) : undefined,
  };
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

function itemDigest(item: Omit<PlanItem, 'tier'>, desired: KubeObject | null): string {
  const content = {
    groupResource: item.groupResource,
    namespace: item.namespace,
    name: item.name,
    action: item.action,
    hooks: item.hooks,
    // Which snapshot fills which volume; reasons are free text, left out like the others.
    podVolumes: item.podVolumes?.map(({ reason: _reason, ...v }) => v),
    // Only Secrets need a redacted copy; the rest is hashed as it is (no copy of every object).
    desired: desired ? (isSecret(desired) ? redactObject(desired) : desired) : null,
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * JSON with object keys sorted at every level and undefined members dropped. Compact JSON (the
 * hashes) is written without a sorted copy of the value (canonical-json.ts).
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return indent === undefined ? canonicalJsonCompact(value) : stringifyJson(sortKeys(value), indent);
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function idOf(item: Pick<PlanInputItem, 'groupResource' | 'namespace' | 'name'>): string {
  return `${item.groupResource} ${item.namespace ? `${item.namespace}/` : ''}${item.name}`;
}

function checkInput(input: PlanInput): void {
  for (const item of input.items) checkItem(item);
  checkUnique(input.items);
}

function checkItem(item: PlanInputItem): void {
  if (!item.groupResource || !item.name)
    throw new PlanInputError(`${idOf(item)}: groupResource and name are required`);
  if (item.desired === null && item.skipReason === undefined && item.invalidReason === undefined) {
    throw new PlanInputError(
      `${idOf(item)}: desired is null but neither skipReason nor invalidReason is given`,
    );
  }
}

function checkUnique(items: Pick<PlanInputItem, 'groupResource' | 'namespace' | 'name'>[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    const id = idOf(item);
    if (seen.has(id)) throw new PlanInputError(`${id} appears twice`);
    seen.add(id);
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- preparing the desired object --------------------------------------------------------

export interface PrepareOptions {
  groupResource: string;
  spec: RestoreSpec;
  backupName: string;
  restoreName: string;
  /** Whether status is restored for this resource (spec.restoreStatus matched it). */
  restoreStatus: boolean;
  /** The backup's CSI snapshots: claims restored from them (csi-restore.ts). */
  csi?: CsiRestoreContext;
  /** The backup's file-system copies: pods that wait for their volumes (fs-volumes.ts). */
  fs?: FsRestoreContext;
}

export type PreparedObject =
  | {
      desired: KubeObject;
      applied: string[];
      tracking?: { warning?: string; note?: string };
      podVolumes?: PlannedPodVolume[];
    }
  | { desired: null; skipReason: string }
  | { desired: null; invalidReason: string };

/** The prepared object with its Argo CD / Flux tracking kept or stripped, as the policy says. */
function withTracking(
  object: KubeObject,
  applied: string[],
  policy: 'Keep' | 'Strip',
  podVolumes: PlannedPodVolume[] | undefined,
): PreparedObject {
  const tracking = gitopsTrackingOf(object);
  return {
    desired: tracking && policy === 'Strip' ? stripGitopsTracking(object, tracking) : object,
    applied,
    ...(tracking ? { tracking: trackingMessage(tracking, policy) } : {}),
    ...(podVolumes ? { podVolumes } : {}),
  };
}

/**
 * Velero's restore-helper for a pod whose volumes the backup copied: the restore-wait init
 * container, first of all, so the pod's own init containers and the init hooks see the data.
 */
function restoreWaitOf(
  archived: KubeObject,
  mapped: KubeObject,
  opts: PrepareOptions,
): { pod: KubeObject; volumes?: PlannedPodVolume[]; applied: string } | undefined {
  if (opts.groupResource !== 'pods' || !opts.fs) return undefined;
  const source = { namespace: archived.metadata.namespace ?? '', name: archived.metadata.name ?? '' };
  const waited = withRestoreWait(mapped, source, opts.fs);
  if (waited.pod === mapped) return undefined;
  const spec = waited.pod.spec as { initContainers?: { volumeMounts?: { name: string }[] }[] };
  const names = (spec.initContainers?.[0]?.volumeMounts ?? []).map((m) => m.name).join(', ');
  return {
    pod: waited.pod,
    // A pod that only waits for moved claims (filled before it exists) restores no volume itself.
    ...(waited.volumes.length > 0 ? { volumes: waited.volumes } : {}),
    applied: `restore-wait init container added for volumes ${names}`,
  };
}

/** A volume whose claim's data restic holds (moved snapshot data or a pod's file-system copy). */
function resticVolumeSkip(groupResource: string, obj: KubeObject, fs: FsRestoreContext | undefined) {
  return movedVolumeSkip(groupResource, obj, fs) ?? copiedVolumeSkip(groupResource, obj, fs);
}

/**
 * From an archive object to the object a restore would write, in Velero's order
 * (restore.go restoreItem): reset metadata/status and run the built-in item actions
 * (sanitizeForRestore), move it to its target namespace, label it (both in sanitize and
 * mapping), then apply resource modifiers — so modifier conditions see the target namespace.
 */
export function prepareDesiredObject(obj: KubeObject, opts: PrepareOptions): PreparedObject {
  try {
    // A volume whose data is in a CSI snapshot is never restored, whatever its reclaim policy.
    const volumeSkip =
      opts.csi && opts.groupResource === 'persistentvolumes'
        ? csiRestoreTransform(opts.groupResource, obj, obj, opts.csi)
        : undefined;
    if (volumeSkip && 'skip' in volumeSkip) return { desired: null, skipReason: volumeSkip.skip };
    const resticSkip = resticVolumeSkip(opts.groupResource, obj, opts.fs);
    if (resticSkip !== undefined) return { desired: null, skipReason: resticSkip };
    const sanitized = sanitizeForRestore(obj, {
      groupResource: opts.groupResource,
      restoreStatus: opts.restoreStatus,
      preserveNodePorts: opts.spec.preserveNodePorts === true,
      backupName: opts.backupName,
      restoreName: opts.restoreName,
      restorePVs: opts.spec.restorePVs,
    });
    if (sanitized.skip !== undefined) return { desired: null, skipReason: sanitized.skip };
    const csi = opts.csi
      ? csiRestoreTransform(opts.groupResource, obj, sanitized.object, opts.csi)
      : undefined;
    if (csi && 'skip' in csi) return { desired: null, skipReason: csi.skip };
    if (csi && 'invalid' in csi) return { desired: null, invalidReason: csi.invalid };
    // sanitizeForRestore's object is a deep copy of `obj`, this call's own: mapped in place.
    let mapped = mapNamespacesInPlace(
      freshIfMoved(opts.groupResource, obj, sanitized.object, opts.fs),
      opts.groupResource,
      opts.spec.namespaceMapping,
    );
    const applied: string[] = [];
    let podVolumes: PlannedPodVolume[] | undefined;
    const waited = restoreWaitOf(obj, mapped, opts);
    if (waited) {
      mapped = waited.pod;
      podVolumes = waited.volumes;
      applied.push(waited.applied);
    }
    if (opts.groupResource === 'pods') {
      // Init hooks, selected in the target namespace (Velero's InitRestoreHookPodAction).
      const init = withInitHooks(mapped, opts.spec.hooks);
      if ('errors' in init) return { desired: null, invalidReason: init.errors.join('; ') };
      mapped = init.pod;
      if (init.added.length > 0) applied.push(`init hook containers ${init.added.join(', ')} added`);
    }
    // `mapped` is this call's own copy; without rules there is nothing to copy it again for.
    const modified = opts.spec.resourceModifiers?.resourceModifierRules?.length
      ? applyResourceModifiers(mapped, opts.groupResource, opts.spec.resourceModifiers)
      : { object: mapped, applied: [] };
    const allApplied = [...applied, ...modified.applied];
    // Looked at last: a modifier may already have removed (or added) tracking marks.
    return withTracking(modified.object, allApplied, opts.spec.gitopsTracking ?? 'Keep', podVolumes);
  } catch (err) {
    if (err instanceof SanitizeError || err instanceof ResourceModifierError) {
      return { desired: null, invalidReason: err.message };
    }
    throw err;
  }
}
