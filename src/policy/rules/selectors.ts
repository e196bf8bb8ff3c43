// Label selectors, checked as Kubernetes checks them (apimachinery
// pkg/apis/meta/v1/validation ValidateLabelSelector): keys are qualified names, values label
// values, In/NotIn need values and Exists/DoesNotExist take none.
import type { LabelSelector } from '../../backup/spec.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';
import { labelValueError, qualifiedNameError } from './k8s-names.js';

export function labelSelectorIssues(selector: LabelSelector, path: FieldPath): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyPath = [...path, 'matchLabels', key];
    const keyError = qualifiedNameError(key);
    if (keyError) issues.push(issue('selector', keyPath, `label key "${key}" ${keyError}`, 'key'));
    const valueError = labelValueError(value);
    if (valueError) issues.push(issue('selector', keyPath, `label value "${value}" ${valueError}`));
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const at = [...path, 'matchExpressions', index];
    const keyError = qualifiedNameError(requirement.key);
    if (keyError)
      issues.push(issue('selector', [...at, 'key'], `label key "${requirement.key}" ${keyError}`));
    const values = requirement.values ?? [];
    const needsValues = requirement.operator === 'In' || requirement.operator === 'NotIn';
    if (needsValues && values.length === 0) {
      issues.push(
        issue(
          'selector',
          [...at, 'values'],
          `operator ${requirement.operator} needs at least one value`,
          'key',
        ),
      );
    }
    if (!needsValues && values.length > 0) {
      issues.push(
        issue('selector', [...at, 'values'], `operator ${requirement.operator} takes no values`, 'key'),
      );
    }
    values.forEach((value, valueIndex) => {
      const valueError = labelValueError(value);
      if (valueError)
        issues.push(issue('selector', [...at, 'values', valueIndex], `label value "${value}" ${valueError}`));
    });
  });
  return issues;
}
