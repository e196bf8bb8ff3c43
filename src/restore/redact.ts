// Secret values never leave the restore engine: plans are committed to Git and read in pull
// requests, so a Secret's values are replaced by a fingerprint, `sha256:<12 hex>`, that lets a
// reviewer see *whether* a value changes without seeing it.
//
// What is a value: every entry of a core Secret's `data` (fingerprinted over the decoded bytes,
// so the same content in `data` and `stringData` has one fingerprint) and `stringData`, and its
// `kubectl.kubernetes.io/last-applied-configuration` annotation, which holds the whole Secret.
// Known limit: a fingerprint of a short or guessable value (a 4-digit PIN, "true") can be
// confirmed by hashing guesses; plans name keys and show whether values change, nothing more.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/types.js';
import type { DiffEntry } from './diff.js';
import { isJsonMap } from './strategic-merge.js';
import { stringifyJson } from '../util/json.js';

export const FINGERPRINT_PREFIX = 'sha256:';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Shorter values are not searched for in free text: they would match by chance everywhere. */
const MIN_SCRUB_LENGTH = 4;

export function fingerprint(value: string | Uint8Array): string {
  return FINGERPRINT_PREFIX + createHash('sha256').update(value).digest('hex').slice(0, 12);
}

export function isSecret(obj: Pick<KubeObject, 'apiVersion' | 'kind'> | null | undefined): boolean {
  return obj?.apiVersion === 'v1' && obj.kind === 'Secret';
}

/** A copy of `obj` with Secret values fingerprinted; other objects are returned as copies. */
export function redactObject(obj: KubeObject): KubeObject {
  const out = structuredClone(obj);
  if (!isSecret(out)) return out;
  if (isJsonMap(out.data)) out.data = mapValues(out.data, fingerprintData);
  if (isJsonMap(out.stringData)) out.stringData = mapValues(out.stringData, fingerprintString);
  const annotations = out.metadata.annotations;
  if (annotations?.[LAST_APPLIED] !== undefined)
    annotations[LAST_APPLIED] = fingerprint(annotations[LAST_APPLIED]);
  return out;
}

/** Diff entries of a Secret with their values fingerprinted the same way as redactObject. */
export function redactEntries(
  entries: DiffEntry[],
  obj: Pick<KubeObject, 'apiVersion' | 'kind'>,
): DiffEntry[] {
  if (!isSecret(obj)) return entries;
  return entries.map((e) => {
    const redact = redactorFor(e.segments);
    if (redact === undefined) return e;
    const out: DiffEntry = { segments: e.segments, op: e.op };
    if (e.before !== undefined) out.before = redact(e.before);
    if (e.after !== undefined) out.after = redact(e.after);
    return out;
  });
}

function redactorFor(segments: DiffEntry['segments']): ((v: unknown) => unknown) | undefined {
  const [first, second, third] = segments;
  const perValue =
    first === 'data' ? fingerprintData : first === 'stringData' ? fingerprintString : undefined;
  if (perValue !== undefined) {
    // The whole map (one entry for `data`) or one of its values.
    return segments.length === 1 ? (v) => (isJsonMap(v) ? mapValues(v, perValue) : perValue(v)) : perValue;
  }
  if (first !== 'metadata') return undefined;
  if (segments.length === 1)
    return (v) =>
      isJsonMap(v) && isJsonMap(v.annotations) ? { ...v, annotations: redactLastApplied(v.annotations) } : v;
  if (second !== 'annotations') return undefined;
  if (segments.length === 2) return (v) => (isJsonMap(v) ? redactLastApplied(v) : v);
  return third === LAST_APPLIED ? fingerprintString : undefined;
}

function redactLastApplied(annotations: Record<string, unknown>): Record<string, unknown> {
  if (annotations[LAST_APPLIED] === undefined) return annotations;
  return { ...annotations, [LAST_APPLIED]: fingerprintString(annotations[LAST_APPLIED]) };
}

function fingerprintData(value: unknown): unknown {
  return typeof value === 'string' ? fingerprint(Buffer.from(value, 'base64')) : fingerprintString(value);
}

function fingerprintString(value: unknown): unknown {
  return value === null || value === undefined
    ? value
    : fingerprint(typeof value === 'string' ? value : stringifyJson(value));
}

function mapValues(map: Record<string, unknown>, fn: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, fn(v)]));
}

/**
 * Keys whose values are no secret, so free text is not searched for them: a service-account
 * token Secret's `namespace` holds the name of the namespace it lives in. Scrubbing that name
 * from messages turned `namespaces "shop" not found` into `namespaces "sha256:…" not found`,
 * hiding the one name a reader needs (issue 18). In the Secret itself the value is still
 * fingerprinted where it stands (redactObject, redactEntries).
 */
const PUBLIC_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  'kubernetes.io/service-account-token': new Set(['namespace']),
};

/**
 * Every form in which a Secret's values could appear in text: as stored (base64), decoded, and
 * stringData values with their base64 encoding; the last-applied annotation. Forms shorter than
 * MIN_SCRUB_LENGTH, and values of PUBLIC_KEYS, are left out.
 */
export function secretValueForms(secrets: (KubeObject | null | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || !isSecret(secret)) continue;
    const isPublic = PUBLIC_KEYS[typeof secret.type === 'string' ? secret.type : ''];
    const values = (map: unknown) =>
      Object.entries(isJsonMap(map) ? map : {})
        .filter(([k, v]) => typeof v === 'string' && !isPublic?.has(k))
        .map(([, v]) => v as string);
    for (const value of values(secret.data)) {
      forms.add(value);
      forms.add(Buffer.from(value, 'base64').toString('utf8'));
    }
    for (const value of values(secret.stringData)) {
      forms.add(value);
      forms.add(Buffer.from(value, 'utf8').toString('base64'));
    }
    const lastApplied = secret.metadata?.annotations?.[LAST_APPLIED];
    if (lastApplied) forms.add(lastApplied);
  }
  // Longest first, so scrubbing replaces a value before any shorter form inside it.
  return [...forms]
    .filter((f) => f.length >= MIN_SCRUB_LENGTH)
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** Characters of object names; a disclosed name counts only where none of them adjoins it. */
const NAME_CHAR = /[A-Za-z0-9._-]/;

/**
 * `text` with every occurrence of a Secret value form replaced by a fingerprint — except an
 * occurrence that lies wholly inside a `disclosed` name standing on its own (not part of a longer
 * word). Disclosed names are those the plan shows in the clear anyway (namespaces, object names,
 * kinds): a Secret whose value happens to equal one must not blank that name out of an error a
 * person has to act on, and leaving it reveals nothing the plan does not already show. A form
 * that only partly overlaps a name is replaced, and overlapping occurrences are replaced as one.
 */
export function scrubText(text: string, forms: string[], disclosed: Iterable<string> = []): string {
  const hits: [number, number][] = [];
  for (const form of forms) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
      hits.push([at, at + form.length]);
    }
  }
  if (hits.length === 0) return text;
  const spans = disclosedSpans(text, disclosed);
  const kept = hits
    .filter(([s, e]) => !spans.some(([a, b]) => a <= s && e <= b))
    .sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  let out = '';
  let pos = 0;
  for (let i = 0; i < kept.length;) {
    const [start, firstEnd] = kept[i] as [number, number];
    let end = firstEnd;
    for (i++; i < kept.length && (kept[i] as [number, number])[0] < end; i++) {
      end = Math.max(end, (kept[i] as [number, number])[1]);
    }
    out += text.slice(pos, start) + fingerprint(text.slice(start, end));
    pos = end;
  }
  return out + text.slice(pos);
}

function disclosedSpans(text: string, disclosed: Iterable<string>): [number, number][] {
  const spans: [number, number][] = [];
  for (const name of new Set(disclosed)) {
    if (name === '') continue;
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
      const end = at + name.length;
      if (!NAME_CHAR.test(text.charAt(at - 1)) && !NAME_CHAR.test(text.charAt(end))) spans.push([at, end]);
    }
  }
  return spans;
}

/** Whether any form of the Secrets' values appears in `text` (for leak scans in tests and checks). */
export function containsSecretValue(text: string, secrets: (KubeObject | null | undefined)[]): boolean {
  return secretValueForms(secrets).some((form) => text.includes(form));
}
