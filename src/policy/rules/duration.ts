// Backup TTLs: positive Go durations, as Velero's metav1.Duration reads them.
import { parseDuration } from '../../util/duration.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';

/**
 * The longest TTL: Go's time.Duration is an int64 of nanoseconds (about 292 years), and
 * velero-backup.json carries the TTL for Velero to read. A longer one would be accepted here
 * and fail at backup time.
 */
export const MAX_TTL_MS = 9_223_372_036_854;

export function ttlError(ttl: string): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(ttl);
  } catch (error) {
    return (error as Error).message;
  }
  if (ms <= 0) return `ttl must be positive (got ${JSON.stringify(ttl)}); for example "720h"`;
  if (ms > MAX_TTL_MS)
    return `ttl ${JSON.stringify(ttl)} is longer than the longest duration Velero can store (2562047h, about 292 years)`;
  return undefined;
}

/** csiSnapshotTimeout: a positive Go duration, as Velero's metav1.Duration reads it. */
export function timeoutError(field: string, value: string): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (error) {
    return (error as Error).message;
  }
  if (ms <= 0) return `${field} must be positive (got ${JSON.stringify(value)}); for example "10m"`;
  if (ms > MAX_TTL_MS)
    return `${field} ${JSON.stringify(value)} is longer than Go's longest duration (2562047h)`;
  return undefined;
}

export function timeoutIssues(field: string, value: string | undefined, path: FieldPath): Issue[] {
  const error = value === undefined ? undefined : timeoutError(field, value);
  return error ? [issue('duration', path, error)] : [];
}

export function ttlIssues(ttl: string, path: FieldPath): Issue[] {
  const error = ttlError(ttl);
  return error ? [issue('duration', path, error)] : [];
}
