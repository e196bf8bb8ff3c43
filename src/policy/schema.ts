// The JSON Schemas in policies/schema/ (published for editors), compiled with ajv in strict
// mode. The schemas check structure, types, enums and unknown fields; the rules in rules/
// check meaning. Validation applies the schemas' defaults to the data it is given.
// The published schemas are compiled ahead of time (schema-validators.generated.ts, ADR 0029);
// other schemas (tests) are compiled when the validator is created.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import type { Issue } from './issue.js';
import { describeSchemaError } from './schema-messages.js';
import { compileSchemas, SHARED_SCHEMA_FILE } from './schema-compile.js';
import type { JsonSchema, PolicySchemas } from './schema-compile.js';
import * as precompiled from './schema-validators.generated.js';
import type { PolicyKind } from './types.js';

export { SHARED_SCHEMA_FILE, type JsonSchema, type PolicySchemas };

/** policies/schema/ at the package root (the same path from src/policy and dist/policy). */
export const SCHEMA_DIR = fileURLToPath(new URL('../../policies/schema/', import.meta.url));

export const SCHEMA_FILES: Record<PolicyKind, string> = {
  StorageLocation: 'storage-location.json',
  BackupSchedule: 'backup-schedule.json',
  Backup: 'backup.json',
  Restore: 'restore.json',
  RestoreApproval: 'restore-approval.json',
};

export function readPolicySchemas(dir: string = SCHEMA_DIR): PolicySchemas {
  const read = (file: string): JsonSchema => JSON.parse(readFileSync(join(dir, file), 'utf8')) as JsonSchema;
  return {
    shared: read(SHARED_SCHEMA_FILE),
    kinds: {
      StorageLocation: read(SCHEMA_FILES.StorageLocation),
      BackupSchedule: read(SCHEMA_FILES.BackupSchedule),
      Backup: read(SCHEMA_FILES.Backup),
      Restore: read(SCHEMA_FILES.Restore),
      RestoreApproval: read(SCHEMA_FILES.RestoreApproval),
    },
  };
}

export interface SchemaValidator {
  /** Validate one document of `kind`, filling in schema defaults; [] when it conforms. */
  validate(kind: PolicyKind, data: unknown): Issue[];
}

/** A validator of the published schemas (precompiled), or of `schemas`, compiled now. */
export function createSchemaValidator(schemas?: PolicySchemas): SchemaValidator {
  const compiled: Partial<Record<PolicyKind, ValidateFunction>> = schemas
    ? compileSchemas(schemas)
    : (precompiled as unknown as Record<PolicyKind, ValidateFunction>);
  return {
    validate(kind, data) {
      const fn = compiled[kind];
      if (!fn) throw new Error(`no schema for kind ${kind}`);
      if (fn(data)) return [];
      return (fn.errors ?? []).map((error) => describeSchemaError(error, data));
    },
  };
}
