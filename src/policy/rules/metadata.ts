// metadata: the name (a DNS-1123 subdomain, since it names backups in the bucket and branches
// in Git) and Kubernetes-style labels and annotations.
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { PolicyMetadata } from '../types.js';
import { dns1123SubdomainError, labelValueError, qualifiedNameError } from './k8s-names.js';

export function metadataIssues(metadata: PolicyMetadata): Issue[] {
  const issues: Issue[] = [];
  const nameError = dns1123SubdomainError(metadata.name);
  if (nameError) issues.push(issue('name', ['metadata', 'name'], `name "${metadata.name}" ${nameError}`));
  for (const [key, value] of Object.entries(metadata.labels ?? {})) {
    const keyError = qualifiedNameError(key);
    if (keyError)
      issues.push(issue('label', ['metadata', 'labels', key], `label key "${key}" ${keyError}`, 'key'));
    const valueError = labelValueError(value);
    if (valueError)
      issues.push(issue('label', ['metadata', 'labels', key], `label value "${value}" ${valueError}`));
  }
  for (const key of Object.keys(metadata.annotations ?? {})) {
    const keyError = qualifiedNameError(key);
    if (keyError) {
      issues.push(
        issue('label', ['metadata', 'annotations', key], `annotation key "${key}" ${keyError}`, 'key'),
      );
    }
  }
  return issues;
}
