// Kubernetes strategic merge patch (SMP) for built-in kinds, used by resource modifiers'
// `strategicPatches` (Velero internal/resourcemodifiers/strategic_merge_patch.go, which calls
// k8s.io/apimachinery/pkg/util/strategicpatch with the Go types from the client-go scheme).
//
// No maintained JavaScript SMP library exists, so the semantics are implemented here from
// the Kubernetes documentation ("Update API Objects in Place Using kubectl patch") and the
// `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api. Instead of Go reflection we keep a
// table of the list fields that merge (SCHEMA below); every other list is replaced whole, every
// map is merged key by key, and `null` deletes a key. Supported directives:
//   - `$patch: replace` on a map (replace the map) or as a list element (replace the list),
//   - `$patch: delete` on a map (delete it) or on a keyed list element (delete that element),
//   - `$retainKeys: [...]` (drop original keys not listed, then merge),
//   - `$deleteFromPrimitiveList/<field>: [...]` (remove values from a merged primitive list),
//   - `$setElementOrder/<field>` is accepted and ignored: it only orders lists, and only
//     kubectl-generated patches carry it.
// Differences from the apiserver: no schema validation of unknown fields (Velero uses
// FieldValidationStrict), and custom resources are refused exactly as Velero and the apiserver
// refuse them (SMP needs Go types; use `mergePatches` for custom resources).
import type { KubeObject } from '../kube/types.js';

/** Patch facts of one field: how its list merges, and the fields of its map or list elements. */
export interface SchemaNode {
  /** A list that merges instead of being replaced: by `key` for lists of maps, as a set for primitives. */
  listMerge?: { key?: string };
  fields?: Record<string, SchemaNode>;
}

// --- the table of merging lists (k8s.io/api struct tags) ---------------------------------

const CONTAINER: SchemaNode = {
  listMerge: { key: 'name' },
  fields: {
    ports: { listMerge: { key: 'containerPort' } },
    env: { listMerge: { key: 'name' } },
    volumeMounts: { listMerge: { key: 'mountPath' } },
    volumeDevices: { listMerge: { key: 'devicePath' } },
    // args, command, envFrom and resizePolicy carry no patchStrategy: replaced.
  },
};

const POD_SPEC: SchemaNode = {
  fields: {
    containers: CONTAINER,
    initContainers: CONTAINER,
    ephemeralContainers: CONTAINER,
    volumes: { listMerge: { key: 'name' } },
    imagePullSecrets: { listMerge: { key: 'name' } },
    hostAliases: { listMerge: { key: 'ip' } },
    topologySpreadConstraints: { listMerge: { key: 'topologyKey' } },
    resourceClaims: { listMerge: { key: 'name' } },
    schedulingGates: { listMerge: { key: 'name' } },
    // tolerations and readinessGates carry no patchStrategy: replaced.
  },
};

const OBJECT_META: SchemaNode = {
  fields: {
    finalizers: { listMerge: {} },
    ownerReferences: { listMerge: { key: 'uid' } },
  },
};

const POD_TEMPLATE: SchemaNode = { fields: { metadata: OBJECT_META, spec: POD_SPEC } };

function withMeta(fields: Record<string, SchemaNode> = {}): SchemaNode {
  return { fields: { metadata: OBJECT_META, ...fields } };
}

const WORKLOAD = withMeta({ spec: { fields: { template: POD_TEMPLATE } } });

/** Kinds whose merging lists go beyond metadata, by `group/Kind` ('' group for core). */
const SCHEMA: Record<string, SchemaNode> = {
  '/Pod': withMeta({ spec: POD_SPEC }),
  '/PodTemplate': withMeta({ template: POD_TEMPLATE }),
  '/ReplicationController': WORKLOAD,
  'apps/Deployment': WORKLOAD,
  'apps/ReplicaSet': WORKLOAD,
  'apps/StatefulSet': WORKLOAD,
  'apps/DaemonSet': WORKLOAD,
  'batch/Job': WORKLOAD,
  'batch/CronJob': withMeta({
    spec: {
      fields: {
        jobTemplate: { fields: { metadata: OBJECT_META, spec: { fields: { template: POD_TEMPLATE } } } },
      },
    },
  }),
  '/Service': withMeta({ spec: { fields: { ports: { listMerge: { key: 'port' } } } } }),
  '/ServiceAccount': withMeta({ secrets: { listMerge: { key: 'name' } } }),
};

/** API groups served by kube-apiserver itself: SMP works for all of their kinds. */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

export function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function isBuiltInApiGroup(group: string): boolean {
  return BUILT_IN_GROUPS.has(group);
}

/**
 * The patch schema of a kind, or undefined when the kind is not built in (a custom resource),
 * for which strategic merge patch is not defined.
 */
export function schemaForKind(apiVersion: string, kind: string): SchemaNode | undefined {
  const group = groupOfApiVersion(apiVersion);
  if (!isBuiltInApiGroup(group)) return undefined;
  return SCHEMA[`${group}/${kind}`] ?? withMeta();
}

// --- the merge ---------------------------------------------------------------------------

export class StrategicMergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategicMergeError';
  }
}

type JsonMap = Record<string, unknown>;

export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

/** Apply one strategic merge patch to an object. Throws StrategicMergeError; never mutates its input. */
export function strategicMergePatch(original: KubeObject, patch: unknown): KubeObject {
  const schema = schemaForKind(original.apiVersion, original.kind);
  if (schema === undefined) {
    throw new StrategicMergeError(
      `strategic merge patch is not supported for ${original.kind} (${original.apiVersion}): ` +
        'it is not a built-in kind; use mergePatches or patches',
    );
  }
  if (!isJsonMap(patch)) throw new StrategicMergeError('the patch must be a map');
  if (patch[PATCH] !== undefined) {
    throw new StrategicMergeError(`'${PATCH}' is not allowed at the top level of the patch`);
  }
  const merged = mergeMap(structuredClone(original), patch, schema, '');
  return merged as KubeObject;
}

function mergeMap(original: JsonMap, patch: JsonMap, schema: SchemaNode | undefined, path: string): JsonMap {
  const directive = patch[PATCH];
  if (directive === 'replace') return cleanNewValue(withoutDirectives(patch), schema, path) as JsonMap;
  if (directive === 'delete') return {};
  if (directive !== undefined && directive !== 'merge') {
    throw new StrategicMergeError(
      `${path || '(root)'}: unknown ${PATCH} directive ${JSON.stringify(directive)}`,
    );
  }
  let result = original;
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) result = retainKeys(result, retain, path);
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      result[field] = deleteFromPrimitiveList(result[field], value, join(path, field));
    } else {
      mergeField(result, key, value, { schema: schema?.fields?.[key], path: join(path, key) });
    }
  }
  return result;
}

/** One key of a map patch: null or `$patch: delete` removes, maps merge, merging lists merge. */
function mergeField(
  target: JsonMap,
  key: string,
  value: unknown,
  at: { schema: SchemaNode | undefined; path: string },
): void {
  const { schema, path } = at;
  const current = target[key];
  if (value === null || (isJsonMap(value) && value[PATCH] === 'delete')) {
    delete target[key];
  } else if (isJsonMap(value)) {
    target[key] = mergeMap(isJsonMap(current) ? current : {}, value, schema, path);
  } else if (Array.isArray(value) && schema?.listMerge !== undefined) {
    target[key] = mergeList(Array.isArray(current) ? current : [], value, schema, path);
  } else {
    target[key] = cleanNewValue(value, schema, path);
  }
}

function mergeList(original: unknown[], patch: unknown[], schema: SchemaNode, path: string): unknown[] {
  const replace = patch.find((e) => isJsonMap(e) && e[PATCH] === 'replace');
  if (replace !== undefined) {
    return patch.filter((e) => e !== replace).map((e) => cleanNewValue(e, schema, path));
  }
  const key = schema.listMerge?.key;
  if (key === undefined) {
    // A merged list of primitives is a set union that keeps the original order (e.g. finalizers).
    const result = [...original];
    for (const value of patch) if (!result.some((v) => jsonEqual(v, value))) result.push(value);
    return result;
  }
  const result = [...original];
  for (const element of patch) {
    if (!isJsonMap(element) || element[key] === undefined) {
      throw new StrategicMergeError(`${path}: a list element does not contain the merge key '${key}'`);
    }
    const index = result.findIndex((e) => isJsonMap(e) && jsonEqual(e[key], element[key]));
    if (element[PATCH] === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = mergeMap(
        result[index] as JsonMap,
        element,
        schema,
        `${path}[${key}=${JSON.stringify(element[key])}]`,
      );
    } else {
      result.push(cleanNewValue(element, schema, path));
    }
  }
  return result;
}

/** A value that has no original counterpart still loses its directives and null fields. */
function cleanNewValue(value: unknown, schema: SchemaNode | undefined, path: string): unknown {
  if (isJsonMap(value)) return mergeMap({}, withoutDirectives(value), schema, path);
  if (Array.isArray(value)) return value.map((e) => (isJsonMap(e) ? mergeMap({}, e, schema, path) : e));
  return value;
}

function withoutDirectives(map: JsonMap): JsonMap {
  return Object.fromEntries(Object.entries(map).filter(([k]) => k !== PATCH));
}

function retainKeys(original: JsonMap, retain: unknown, path: string): JsonMap {
  if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) {
    throw new StrategicMergeError(`${path || '(root)'}: ${RETAIN_KEYS} must be a list of field names`);
  }
  return Object.fromEntries(Object.entries(original).filter(([k]) => retain.includes(k)));
}

function deleteFromPrimitiveList(current: unknown, remove: unknown, path: string): unknown {
  if (!Array.isArray(remove)) {
    throw new StrategicMergeError(`${path}: ${DELETE_FROM_PRIMITIVE_LIST}${path} must be a list`);
  }
  if (!Array.isArray(current)) return current;
  return current.filter((v) => !remove.some((r) => jsonEqual(r, v)));
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Structural equality of JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isJsonMap(a) && isJsonMap(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}
