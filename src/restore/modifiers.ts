// Velero resource modifiers v1, applied to each object just before it is restored
// (Velero internal/resourcemodifiers/resource_modifiers.go ApplyResourceModifierRules; docs
// "Restore Resource Modifiers"). Semantics kept from Velero:
//   - every rule's conditions are matched against the object as it was *before* any rule ran;
//   - a rule applies exactly one kind of patch: `patches` (JSON patch) if present, else
//     `mergePatches` (JSON merge patch), else `strategicPatches`;
//   - a JSON patch whose `test` operation fails leaves the object unchanged (not an error);
//   - `conditions.groupResource` is a glob with `.` as separator (gobwas/glob): `*` does not
//     cross a dot, so `*` matches `pods` but not `deployments.apps`; `*.apps` and `**` do;
//   - `conditions.namespaces` only constrains namespaced objects;
//   - `matches` are JSON-pointer tests whose `value` is read like a JSON patch value.
// Errors name the rule index and the object, never a patch value (it may be a secret).
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import { matchesSelector, validateLabelSelector } from '../backup/label-selector.js';
import type { KubeObject } from '../kube/types.js';
import { compileLinear, type LinearPattern } from '../util/linear-regex.js';
import type {
  JsonPatchOperation,
  ResourceModifierConditions,
  ResourceModifierRule,
  ResourceModifiers,
} from './spec.js';
import { isJsonMap, jsonEqual, strategicMergePatch } from './strategic-merge.js';

export class ResourceModifierError extends Error {
  constructor(
    readonly ruleIndex: number,
    readonly objectRef: string,
    detail: string,
  ) {
    super(`resource modifier rule ${ruleIndex} on ${objectRef}: ${detail}`);
    this.name = 'ResourceModifierError';
  }
}

export interface ModifierResult {
  object: KubeObject;
  /** One line per rule that changed the object, e.g. `rule 0: JSON patch (2 operations)`. */
  applied: string[];
}

/** Apply every matching rule in order. Throws ResourceModifierError; never mutates `obj`. */
export function applyResourceModifiers(
  obj: KubeObject,
  groupResource: string,
  modifiers: ResourceModifiers | undefined,
): ModifierResult {
  const rules = modifiers?.resourceModifierRules ?? [];
  const origin = structuredClone(obj);
  let object = structuredClone(obj);
  const applied: string[] = [];
  rules.forEach((rule, index) => {
    const ref = objectRef(obj, groupResource);
    let matched: boolean;
    try {
      matched = ruleMatches(rule.conditions, origin, groupResource);
    } catch (err) {
      throw new ResourceModifierError(index, ref, `conditions: ${errorMessage(err)}`);
    }
    if (!matched) return;
    const result = applyRulePatches(rule, object, (detail) => new ResourceModifierError(index, ref, detail));
    if (result.description !== undefined) applied.push(`rule ${index}: ${result.description}`);
    object = result.object;
  });
  return { object, applied };
}

/** Problems with a modifiers document, as `path: message` lines (Velero resource_modifiers_validator.go). */
export function validateResourceModifiers(modifiers: ResourceModifiers): string[] {
  const errors: string[] = [];
  if (String(modifiers.version).toLowerCase() !== 'v1') {
    errors.push(
      `version: unsupported resource modifier version ${JSON.stringify(modifiers.version)} (want v1)`,
    );
  }
  const rules = modifiers.resourceModifierRules ?? [];
  if (rules.length === 0) errors.push('resourceModifierRules: must not be empty');
  rules.forEach((rule, i) => {
    const at = `resourceModifierRules[${i}]`;
    const c = rule.conditions;
    if (!c?.groupResource) errors.push(`${at}.conditions.groupResource: must not be empty`);
    else if (!tryCompile(() => globToRegExp(c.groupResource))) {
      errors.push(`${at}.conditions.groupResource: invalid glob ${JSON.stringify(c.groupResource)}`);
    }
    if (c?.resourceNameRegex && !tryCompile(() => compileLinear(c.resourceNameRegex ?? ''))) {
      errors.push(`${at}.conditions.resourceNameRegex: invalid regular expression`);
    }
    if (c?.labelSelector !== undefined) {
      for (const issue of validateLabelSelector(c.labelSelector, `${at}.conditions.labelSelector`)) {
        errors.push(`${issue.field}: ${issue.message}`);
      }
    }
    (c?.matches ?? []).forEach((m, j) => {
      if (!m.path) errors.push(`${at}.conditions.matches[${j}].path: must not be empty`);
    });
    (rule.patches ?? []).forEach((p, j) => {
      if (!VALID_OPS.has(String(p.operation).toLowerCase())) {
        errors.push(`${at}.patches[${j}].operation: unsupported operation ${JSON.stringify(p.operation)}`);
      }
      if (!p.path) errors.push(`${at}.patches[${j}].path: must not be empty`);
    });
    if (!rule.patches?.length && !rule.mergePatches?.length && !rule.strategicPatches?.length) {
      errors.push(`${at}: no patches, mergePatches or strategicPatches`);
    }
  });
  return errors;
}

const VALID_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

// --- conditions --------------------------------------------------------------------------

// Compiled once per rule, not once per object: a restore may run a rule over 100,000 objects.
// Keyed weakly by the conditions object, so nothing outlives the restore spec.
const compiled = new WeakMap<
  ResourceModifierConditions,
  { groupResource: LinearPattern; name?: LinearPattern }
>();

function compiledConditions(c: ResourceModifierConditions): {
  groupResource: LinearPattern;
  name?: LinearPattern;
} {
  let patterns = compiled.get(c);
  if (patterns === undefined) {
    patterns = {
      groupResource: globToRegExp(c.groupResource),
      ...(c.resourceNameRegex ? { name: compileLinear(c.resourceNameRegex) } : {}),
    };
    compiled.set(c, patterns);
  }
  return patterns;
}

function ruleMatches(c: ResourceModifierConditions, obj: KubeObject, groupResource: string): boolean {
  const namespace = obj.metadata.namespace ?? '';
  const namespaces = c.namespaces ?? [];
  if (
    namespace !== '' &&
    namespaces.length > 0 &&
    !namespaces.includes('*') &&
    !namespaces.includes(namespace)
  ) {
    return false;
  }
  const patterns = compiledConditions(c);
  if (!patterns.groupResource.test(groupResource)) return false;
  if (patterns.name && !patterns.name.test(obj.metadata.name ?? '')) return false;
  if (c.labelSelector && !matchesSelector(obj.metadata.labels, c.labelSelector)) return false;
  return (c.matches ?? []).every((m) => {
    if (!m.path) throw new Error('matches: path is required');
    const found = valueAtPointer(obj, m.path);
    return found.exists && jsonEqual(found.value, parsePatchValue(m.value));
  });
}

/**
 * gobwas/glob with '.' as separator, as Velero compiles `groupResource`: `*` and `?` stop at
 * dots, `**` crosses them, `[...]`/`[!...]` are character classes, `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): LinearPattern {
  let out = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] ?? '';
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^.]*';
    } else if (ch === '?') out += '[^.]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw new Error(`unterminated '[' in ${JSON.stringify(glob)}`);
      const body = glob.slice(i + 1, end);
      out += body.startsWith('!') ? `[^${escapeClass(body.slice(1))}]` : `[${escapeClass(body)}]`;
      i = end;
    } else if (ch === '{') {
      out += '(?:';
      depth++;
    } else if (ch === '}' && depth > 0) {
      out += ')';
      depth--;
    } else if (ch === ',' && depth > 0) out += '|';
    else if (ch === '\\' && i + 1 < glob.length) out += escapeRegExp(glob[++i] ?? '');
    else out += escapeRegExp(ch);
  }
  if (depth > 0) throw new Error(`unterminated '{' in ${JSON.stringify(glob)}`);
  return compileLinear(`^${out}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClass(s: string): string {
  return s.replace(/[\\\]^]/g, '\\$&');
}

/** RFC 6901 lookup that tells a missing path from a present null. */
function valueAtPointer(doc: unknown, pointer: string): { exists: boolean; value?: unknown } {
  if (pointer === '') return { exists: true, value: doc };
  if (!pointer.startsWith('/')) throw new Error(`${JSON.stringify(pointer)} is not a JSON pointer`);
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && /^(0|[1-9]\d*)$/.test(token) && Number(token) < current.length) {
      current = current[Number(token)];
    } else if (isJsonMap(current) && Object.hasOwn(current, token)) {
      current = current[token];
    } else return { exists: false };
  }
  return { exists: true, value: current };
}

// --- patch values ------------------------------------------------------------------------

/**
 * Velero keeps JSON patch (and match) values as strings and decides whether to quote them
 * (json_patch.go addQuotes): '' and "quoted" strings are strings, `null`, true/false (any case)
 * and numbers are JSON literals, text starting with `{` or `[` is JSON (malformed JSON is an
 * error there, as it is in Velero), anything else is the raw string. A value that YAML already
 * parsed to a number, boolean or object (Velero would reject the document) is used as is.
 */
export function parsePatchValue(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? '';
  if (value === '') return '';
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1);
  if (value === 'null') return null;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  if (value.startsWith('{') || value.startsWith('[')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw new Error('a value starting with { or [ is not valid JSON');
    }
  }
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  return value;
}

// --- patches -----------------------------------------------------------------------------

interface RulePatchResult {
  object: KubeObject;
  description?: string;
}

function applyRulePatches(
  rule: ResourceModifierRule,
  object: KubeObject,
  fail: (detail: string) => ResourceModifierError,
): RulePatchResult {
  if (rule.patches?.length) return applyJsonPatch(rule.patches, object, fail);
  if (rule.mergePatches?.length) {
    let result: unknown = object;
    rule.mergePatches.forEach((p, i) => {
      result = jsonMergePatch(result, parsePatchData(p.patchData, `mergePatches[${i}]`, fail));
    });
    return {
      object: checkObject(result, 'merge patch', fail),
      description: describe(rule.mergePatches, 'merge patch'),
    };
  }
  if (rule.strategicPatches?.length) {
    let result = object;
    rule.strategicPatches.forEach((p, i) => {
      const patch = parsePatchData(p.patchData, `strategicPatches[${i}]`, fail);
      try {
        result = strategicMergePatch(result, patch);
      } catch (err) {
        throw fail(`strategicPatches[${i}]: ${errorMessage(err)}`);
      }
    });
    return {
      object: checkObject(result, 'strategic merge patch', fail),
      description: describe(rule.strategicPatches, 'strategic merge patch'),
    };
  }
  throw fail('no patch data found');
}

function applyJsonPatch(
  patches: JsonPatchOperation[],
  object: KubeObject,
  fail: (detail: string) => ResourceModifierError,
): RulePatchResult {
  const ops = patches.map((p, i): Operation => {
    const op = String(p.operation).toLowerCase();
    if (!VALID_OPS.has(op)) throw fail(`patches[${i}]: unsupported operation ${JSON.stringify(p.operation)}`);
    if (op === 'move' || op === 'copy') return { op, path: p.path, from: p.from ?? '' } as Operation;
    if (op === 'remove') return { op, path: p.path };
    try {
      return { op, path: p.path, value: parsePatchValue(p.value) } as Operation;
    } catch (err) {
      throw fail(`patches[${i}] (${p.path}): ${errorMessage(err)}`);
    }
  });
  try {
    const result = jsonpatch.applyPatch(structuredClone(object), ops, true, true).newDocument;
    return {
      object: checkObject(result, 'JSON patch', fail),
      description: `JSON patch (${ops.length} operation${ops.length === 1 ? '' : 's'})`,
    };
  } catch (err) {
    if (err instanceof jsonpatch.JsonPatchError && err.name === 'TEST_OPERATION_FAILED') {
      return { object }; // Velero: a failed test makes the rule a no-op.
    }
    if (err instanceof ResourceModifierError) throw err;
    throw fail(`JSON patch: ${jsonPatchErrorText(err, ops)}`);
  }
}

function jsonPatchErrorText(err: unknown, ops: Operation[]): string {
  if (err instanceof jsonpatch.JsonPatchError) {
    const index = err.index ?? -1;
    const op = ops[index];
    // The library's message can embed the document; name the operation and the error kind only.
    return op ? `operation ${index} (${op.op} ${op.path}) failed: ${err.name}` : err.name;
  }
  return errorMessage(err);
}

/** RFC 7386 JSON merge patch: maps merge recursively, null deletes, anything else replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonMap(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isJsonMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = jsonMergePatch(result[key], value);
  }
  return result;
}

function parsePatchData(data: string, at: string, fail: (detail: string) => ResourceModifierError): unknown {
  try {
    return parseYaml(data) as unknown;
  } catch (err) {
    throw fail(`${at}.patchData: not valid YAML or JSON (${errorMessage(err).split('\n')[0] ?? ''})`);
  }
}

function checkObject(
  value: unknown,
  what: string,
  fail: (detail: string) => ResourceModifierError,
): KubeObject {
  if (!isJsonMap(value) || !isJsonMap(value.metadata) || typeof value.kind !== 'string') {
    throw fail(`the ${what} left something that is not a Kubernetes object`);
  }
  return value as KubeObject;
}

function describe(list: unknown[], what: string): string {
  return list.length === 1 ? what : `${what} (${list.length} patches)`;
}

function objectRef(obj: KubeObject, groupResource: string): string {
  const ns = obj.metadata.namespace;
  return `${groupResource} ${ns ? `${ns}/` : ''}${obj.metadata.name ?? '(no name)'}`;
}

function tryCompile(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
