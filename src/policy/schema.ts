// The JSON Schemas in policies/schema/ (published for editors) compiled with ajv in strict
// mode. The schemas check structure, types, enums and unknown fields; the rules in rules/
// check meaning. Validation applies the schemas' defaults to the data it is given.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import type { Issue } from './issue.js';
import { describeSchemaError } from './schema-messages.js';
import type { PolicyKind } from './types.js';

/** policies/schema/ at the package root (the same path from src/policy and dist/policy). */
export const SCHEMA_DIR = fileURLToPath(new URL('../../policies/schema/', import.meta.url));

/** The shared definitions, referenced from the kind schemas as `defs.json#/definitions/...`. */
export const SHARED_SCHEMA_FILE = 'defs.json';

export const SCHEMA_FILES: Record<PolicyKind, string> = {
  StorageLocation: 'storage-location.json',
  BackupSchedule: 'backup-schedule.json',
  Backup: 'backup.json',
  Restore: 'restore.json',
  RestoreApproval: 'restore-approval.json',
};

/** A JSON Schema as parsed JSON; only the keywords our schemas use are read by name. */
export type JsonSchema = Record<string, unknown>;

export interface PolicySchemas {
  shared: JsonSchema;
  kinds: Record<PolicyKind, JsonSchema>;
}

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

export function createSchemaValidator(schemas: PolicySchemas = readPolicySchemas()): SchemaValidator {
  // verbose: errors carry the failing value and schema, which the messages use (allowed
  // field names for "did you mean", the one-of sets of a credential).
  const ajv = new Ajv({ strict: true, allErrors: true, verbose: true, useDefaults: true });
  ajv.addSchema(schemas.shared, SHARED_SCHEMA_FILE);
  const compiled = new Map<PolicyKind, ValidateFunction>();
  for (const [kind, schema] of Object.entries(schemas.kinds) as [PolicyKind, JsonSchema][]) {
    compiled.set(kind, ajv.compile(schema));
  }
  return {
    validate(kind, data) {
      const fn = compiled.get(kind);
      if (!fn) throw new Error(`no schema for kind ${kind}`);
      if (fn(data)) return [];
      return (fn.errors ?? []).map((error) => describeSchemaError(error, data));
    },
  };
}
