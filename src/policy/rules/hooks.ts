// spec.hooks of backups, schedules and restores: what the schema cannot check — durations,
// label selectors, and the names hooks are run in (container and init container names).
import type { BackupHooks, HookSelectorSpec, RestoreHooks } from '../../hooks/spec.js';
import { durationMs } from '../../hooks/resolve.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';
import { dns1123LabelError } from './k8s-names.js';
import { labelSelectorIssues } from './selectors.js';

function durationIssues(value: string | undefined, path: FieldPath): Issue[] {
  if (value === undefined) return [];
  const ms = durationMs(value);
  return typeof ms === 'string' ? [issue('hook', path, ms)] : [];
}

function selectorIssues(resource: HookSelectorSpec, path: FieldPath): Issue[] {
  return resource.labelSelector
    ? labelSelectorIssues(resource.labelSelector, [...path, 'labelSelector'])
    : [];
}

function duplicateNameIssues(resources: HookSelectorSpec[], path: FieldPath): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  resources.forEach((r, i) => {
    // The name tells hook results apart in logs, plans and status, as Velero's hook tracker.
    if (seen.has(r.name))
      issues.push(issue('hook', [...path, i, 'name'], `hook set name "${r.name}" is used twice`));
    seen.add(r.name);
  });
  return issues;
}

export function backupHookIssues(hooks: BackupHooks | undefined, path: FieldPath): Issue[] {
  const resources = hooks?.resources ?? [];
  const at = [...path, 'resources'];
  return [
    ...duplicateNameIssues(resources, at),
    ...resources.flatMap((resource, i) => [
      ...selectorIssues(resource, [...at, i]),
      ...(['pre', 'post'] as const).flatMap((phase) =>
        (resource[phase] ?? []).flatMap((hook, j) =>
          durationIssues(hook.exec.timeout, [...at, i, phase, j, 'exec', 'timeout']),
        ),
      ),
    ]),
  ];
}

export function restoreHookIssues(hooks: RestoreHooks | undefined, path: FieldPath): Issue[] {
  const resources = hooks?.resources ?? [];
  const at = [...path, 'resources'];
  return [
    ...duplicateNameIssues(resources, at),
    ...resources.flatMap((resource, i) => [
      ...selectorIssues(resource, [...at, i]),
      ...(resource.postHooks ?? []).flatMap((hook, j): Issue[] => {
        const hookPath = [...at, i, 'postHooks', j];
        if ('exec' in hook)
          return [
            ...durationIssues(hook.exec.execTimeout, [...hookPath, 'exec', 'execTimeout']),
            ...durationIssues(hook.exec.waitTimeout, [...hookPath, 'exec', 'waitTimeout']),
          ];
        return [
          ...durationIssues(hook.init.timeout, [...hookPath, 'init', 'timeout']),
          ...hook.init.initContainers.flatMap((c, k) =>
            initContainerIssues(c, [...hookPath, 'init', 'initContainers', k]),
          ),
        ];
      }),
    ]),
  ];
}

/** The schema leaves a Container open (any of its fields); the three Velero needs are checked here. */
function initContainerIssues(container: Record<string, unknown>, path: FieldPath): Issue[] {
  const { name, image, command } = container;
  const issues: Issue[] = [];
  const missing = (field: string): Issue =>
    issue('hook', [...path, field], `missing required field "${field}"`, 'key');
  if (name === undefined) issues.push(missing('name'));
  else {
    const nameError = typeof name === 'string' ? dns1123LabelError(name) : 'must be a string';
    if (nameError)
      issues.push(issue('hook', [...path, 'name'], `container name ${JSON.stringify(name)} ${nameError}`));
  }
  if (image === undefined) issues.push(missing('image'));
  else if (typeof image !== 'string' || image === '')
    issues.push(issue('hook', [...path, 'image'], 'must be an image reference (a non-empty string)'));
  if (command === undefined) issues.push(missing('command'));
  else if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string'))
    issues.push(issue('hook', [...path, 'command'], 'must be a non-empty list of strings'));
  return issues;
}
