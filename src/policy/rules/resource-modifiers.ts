// Inline resource modifiers, checked as Velero checks its resource-modifier ConfigMap
// (velero internal/resourcemodifiers/resource_modifiers_validator.go) plus what Velero only
// finds out while restoring: regexes that do not compile, patch documents that do not parse.
import { parse } from 'yaml';
import type { ResourceModifierRule, ResourceModifiers } from '../../restore/spec.js';
import { linearRegexError } from '../../util/linear-regex.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';
import { namespaceFilterError } from './k8s-names.js';
import { labelSelectorIssues } from './selectors.js';

const PATCH_KINDS = ['patches', 'mergePatches', 'strategicPatches'] as const;

export function resourceModifierIssues(modifiers: ResourceModifiers, base: FieldPath): Issue[] {
  return modifiers.resourceModifierRules.flatMap((rule, index) =>
    ruleIssues(rule, [...base, 'resourceModifierRules', index]),
  );
}

function ruleIssues(rule: ResourceModifierRule, at: FieldPath): Issue[] {
  const issues = [...conditionIssues(rule, [...at, 'conditions'])];
  const used = PATCH_KINDS.filter((kind) => (rule[kind]?.length ?? 0) > 0);
  if (used.length > 1) {
    issues.push(
      issue(
        'resource-modifier',
        [...at, used[1] ?? ''],
        'set only one of patches, mergePatches or strategicPatches in a rule (as in Velero)',
        'key',
      ),
    );
  }
  (rule.patches ?? []).forEach((patch, index) => {
    const patchAt = [...at, 'patches', index];
    const pathError = jsonPointerError(patch.path);
    if (pathError)
      issues.push(issue('resource-modifier', [...patchAt, 'path'], `path "${patch.path}" ${pathError}`));
    if (patch.operation === 'move' || patch.operation === 'copy') {
      if (patch.from === undefined) {
        issues.push(
          issue(
            'resource-modifier',
            [...patchAt, 'from'],
            `operation ${patch.operation} needs "from"`,
            'key',
          ),
        );
      } else {
        const fromError = jsonPointerError(patch.from);
        if (fromError)
          issues.push(issue('resource-modifier', [...patchAt, 'from'], `from "${patch.from}" ${fromError}`));
      }
    }
  });
  for (const kind of ['mergePatches', 'strategicPatches'] as const) {
    (rule[kind] ?? []).forEach((patch, index) => {
      const error = patchDataError(patch.patchData);
      if (error) issues.push(issue('resource-modifier', [...at, kind, index, 'patchData'], error));
    });
  }
  return issues;
}

function conditionIssues(rule: ResourceModifierRule, at: FieldPath): Issue[] {
  const { conditions } = rule;
  const issues: Issue[] = [];
  if (conditions.resourceNameRegex !== undefined) {
    const error = regexError(conditions.resourceNameRegex);
    if (error) {
      issues.push(
        issue(
          'resource-modifier',
          [...at, 'resourceNameRegex'],
          `resourceNameRegex does not compile: ${error}`,
        ),
      );
    }
  }
  (conditions.namespaces ?? []).forEach((namespace, index) => {
    const error = namespaceFilterError(namespace);
    if (error)
      issues.push(issue('namespace', [...at, 'namespaces', index], `namespace "${namespace}" ${error}`));
  });
  if (conditions.labelSelector)
    issues.push(...labelSelectorIssues(conditions.labelSelector, [...at, 'labelSelector']));
  (conditions.matches ?? []).forEach((match, index) => {
    const error = jsonPointerError(match.path);
    if (error)
      issues.push(
        issue('resource-modifier', [...at, 'matches', index, 'path'], `path "${match.path}" ${error}`),
      );
  });
  return issues;
}

/** RE2 syntax, as Velero (Go) reads it; see util/linear-regex.ts. */
export function regexError(source: string): string | undefined {
  return linearRegexError(source);
}

/** A JSON Pointer (RFC 6901) to a field; Velero refuses an empty path. */
export function jsonPointerError(pointer: string): string | undefined {
  if (pointer === '') return 'must not be empty';
  if (!pointer.startsWith('/')) return 'must be a JSON Pointer starting with "/", such as "/spec/replicas"';
  if (/~[^01]|~$/.test(pointer))
    return 'has a "~" not followed by 0 or 1 (write "~0" for "~" and "~1" for "/")';
  return undefined;
}

/** Merge and strategic patches are YAML or JSON mappings held in a string. */
export function patchDataError(patchData: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = parse(patchData);
  } catch (error) {
    return `patchData does not parse as YAML or JSON: ${(error as Error).message.split('\n')[0] ?? ''}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'patchData must hold a YAML or JSON mapping, such as "{\\"spec\\": {\\"replicas\\": 1}}"';
  }
  return undefined;
}
