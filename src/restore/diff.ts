// Field-level difference between the object a restore wants (sanitized, from the archive) and
// the object in the cluster. It is a *subset* comparison, the way server-side apply sees an
// applied configuration: only paths present in the desired object are compared, so fields the
// apiserver defaulted or other controllers own in the live object are not differences.
//   - maps: desired keys are compared, extra live keys ignored;
//   - lists with a merge key (containers by name, env by name, ports…; the table in
//     strategic-merge.ts) are paired by key, order ignored, extra live elements ignored, as
//     server-side apply keeps other managers' elements of a keyed list;
//   - other lists are atomic: compared element by element, extra live elements are `remove`;
//   - server-set fields (uid, resourceVersion, generation, timestamps, managedFields, selfLink),
//     status, and the restore's own labels are never compared.
// When there is no live object every leaf of the desired object is an `add`.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/types.js';
import { RESTORE_LABELS } from './sanitize.js';
import type { SchemaNode } from './strategic-merge.js';
import { isJsonMap, jsonEqual, schemaForKind } from './strategic-merge.js';
import { stringifyJson } from '../util/json.js';

/** A map key, an index in an atomic list, or the element of a keyed list with `key: value`. */
export type PathSegment = string | number | { key: string; value: unknown };

export type DiffOp = 'add' | 'change' | 'remove';

export interface DiffEntry {
  segments: PathSegment[];
  op: DiffOp;
  before?: unknown;
  after?: unknown;
}

/** A difference as plans show it: `path` like `spec.template.spec.containers[name=web].image`. */
export interface FieldChange {
  path: string;
  op: DiffOp;
  before?: unknown;
  after?: unknown;
}

const SERVER_SET_METADATA = new Set([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);
const IGNORED_LABELS = new Set<string>(RESTORE_LABELS);

export function diffEntries(desired: KubeObject, live: KubeObject | null): DiffEntry[] {
  const out: DiffEntry[] = [];
  const schema = schemaForKind(desired.apiVersion, desired.kind);
  walk({ desired, live: live ?? undefined, segments: [], schema, out });
  return out;
}

export function diffObjects(desired: KubeObject, live: KubeObject | null): FieldChange[] {
  return toFieldChanges(diffEntries(desired, live));
}

export function toFieldChanges(entries: DiffEntry[]): FieldChange[] {
  return entries.map((e) => {
    const change: FieldChange = { path: formatPath(e.segments), op: e.op };
    if (e.op !== 'add') change.before = shownValue(e.before);
    if (e.op !== 'remove') change.after = shownValue(e.after);
    return change;
  });
}

/** Values longer than this (as JSON) are shown abbreviated in plans. */
export const MAX_SHOWN_LENGTH = 512;
/** How much of an abbreviated value is shown. */
const SHOWN_PREFIX_LENGTH = 200;

/**
 * A value as a plan shows it. A long value — a config file in a ConfigMap, a certificate — is
 * cut to its beginning plus its length and a fingerprint: a reviewer still sees what it starts
 * with and whether it changes, and a plan (and the planner's memory) stays proportional to the
 * number of fields, not to the size of the data being restored.
 */
export function shownValue(value: unknown): unknown {
  if (
    value === undefined ||
    value === null ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean'
  )
    return value;
  const text = typeof value === 'string' ? value : stringifyJson(value);
  if (text.length <= MAX_SHOWN_LENGTH) return value;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  // Copied out through a Buffer: V8 keeps a slice of a long string as a view of the whole
  // string, which would keep every abbreviated value alive in full inside the plan.
  const prefix = Buffer.from(text.slice(0, SHOWN_PREFIX_LENGTH), 'utf8').toString('utf8');
  return `${prefix}… [${text.length} characters in all, sha256:${digest}]`;
}

interface WalkState {
  desired: unknown;
  live: unknown;
  segments: PathSegment[];
  schema: SchemaNode | undefined;
  out: DiffEntry[];
}

function walk(s: WalkState): void {
  const { desired, live, segments, out } = s;
  if (isJsonMap(desired) && (live === undefined || isJsonMap(live))) {
    for (const [key, value] of Object.entries(desired)) {
      const child = [...segments, key];
      if (isIgnored(child)) continue;
      walk({ ...s, desired: value, live: live?.[key], segments: child, schema: s.schema?.fields?.[key] });
    }
    return;
  }
  if (Array.isArray(desired) && (live === undefined || Array.isArray(live))) {
    walkList(s, desired, live);
    return;
  }
  if (live === undefined) {
    if (desired !== null) out.push({ segments, op: 'add', after: desired });
  } else if (desired === null) {
    if (live !== null) out.push({ segments, op: 'remove', before: live });
  } else if (!jsonEqual(desired, live)) {
    out.push({ segments, op: 'change', before: live, after: desired });
  }
}

function walkList(s: WalkState, desired: unknown[], live: unknown[] | undefined): void {
  if (desired.length === 0) {
    if (live === undefined) s.out.push({ segments: s.segments, op: 'add', after: [] });
    else if (live.length > 0) s.out.push({ segments: s.segments, op: 'change', before: live, after: [] });
    return;
  }
  const key = s.schema?.listMerge?.key;
  if (key !== undefined && hasKeys(desired, key) && hasKeys(live ?? [], key)) {
    for (const element of desired) {
      const value = (element as Record<string, unknown>)[key];
      const match = live?.find((l) => jsonEqual((l as Record<string, unknown>)[key], value));
      walk({ ...s, desired: element, live: match, segments: [...s.segments, { key, value }] });
    }
    return;
  }
  desired.forEach((element, i) =>
    walk({ ...s, desired: element, live: live?.[i], segments: [...s.segments, i] }),
  );
  for (let i = desired.length; i < (live?.length ?? 0); i++) {
    s.out.push({ segments: [...s.segments, i], op: 'remove', before: live?.[i] });
  }
}

function hasKeys(list: unknown[], key: string): boolean {
  return list.every((e) => isJsonMap(e) && e[key] !== undefined);
}

function isIgnored(segments: PathSegment[]): boolean {
  const [first, second, third] = segments;
  if (segments.length === 1) return first === 'status';
  if (first !== 'metadata') return false;
  if (segments.length === 2) return typeof second === 'string' && SERVER_SET_METADATA.has(second);
  return (
    segments.length === 3 && second === 'labels' && typeof third === 'string' && IGNORED_LABELS.has(third)
  );
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLAIN_KEY_VALUE = /^[A-Za-z0-9_./:-]+$/;

/** `metadata.labels["app.kubernetes.io/name"]`, `spec.ports[port=80].targetPort`, `spec.args[0]`. */
export function formatPath(segments: PathSegment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string')
      out += IDENTIFIER.test(seg) ? `${out === '' ? '' : '.'}${seg}` : `[${JSON.stringify(seg)}]`;
    else {
      const value =
        typeof seg.value === 'string' && PLAIN_KEY_VALUE.test(seg.value)
          ? seg.value
          : JSON.stringify(seg.value);
      out += `[${seg.key}=${value}]`;
    }
  }
  return out;
}

/** The field names along a path, list positions left out: `spec.template.spec.containers.image`. */
export function fieldNames(segments: PathSegment[]): string[] {
  return segments.filter((s): s is string => typeof s === 'string');
}
