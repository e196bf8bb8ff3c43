// `lifeboat validate`: the function behind the command and its two output formats. The CLI
// wires the arguments and exit code; this module does no printing.
import { join } from 'node:path';
import { loadPolicyRepo } from './load.js';
import type { LoadPolicyRepoOptions } from './load.js';
import type { PolicyError } from './types.js';

export interface PolicyValidationResult {
  ok: boolean;
  errors: PolicyError[];
  /** Findings that leave their document valid; they do not make `ok` false. */
  warnings?: PolicyError[];
  /** How many documents are valid. */
  documents: number;
}

export async function validatePolicyRepo(
  dir: string,
  options: Omit<LoadPolicyRepoOptions, 'dir'> = {},
): Promise<PolicyValidationResult> {
  const { documents, errors, warnings } = await loadPolicyRepo({ ...options, dir });
  return { ok: errors.length === 0, errors, warnings, documents: documents.length };
}

/**
 * One line per error, `file:line:col: message (field path)`, the format editors and CI
 * annotate from. `dir` is prefixed to the (repository-relative) file names.
 */
export function formatPolicyErrorsText(
  errors: readonly PolicyError[],
  options: { dir?: string } = {},
): string[] {
  return errors.map((error) => {
    const file = options.dir === undefined ? error.file : join(options.dir, error.file);
    const field = error.path === '' ? '' : ` (${error.path})`;
    const severity = error.severity === 'warning' ? 'warning: ' : '';
    return `${file}:${error.line}:${error.column}: ${severity}${error.message}${field}`;
  });
}

/** The result as JSON, for machines; one stable shape. */
export function formatPolicyValidationJson(result: PolicyValidationResult): string {
  return JSON.stringify(
    {
      ok: result.ok,
      documents: result.documents,
      errors: result.errors,
      ...(result.warnings?.length ? { warnings: result.warnings } : {}),
    },
    null,
    2,
  );
}
