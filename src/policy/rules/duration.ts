// Backup TTLs: positive Go durations, as Velero's metav1.Duration reads them.
import { parseDuration } from '../../util/duration.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';

export function ttlError(ttl: string): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(ttl);
  } catch (error) {
    return (error as Error).message;
  }
  return ms > 0 ? undefined : `ttl must be positive (got ${JSON.stringify(ttl)}); for example "720h"`;
}

export function ttlIssues(ttl: string, path: FieldPath): Issue[] {
  const error = ttlError(ttl);
  return error ? [issue('duration', path, error)] : [];
}
