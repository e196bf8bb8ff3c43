// The policy module's public API: load and validate a policy repository, the document types,
// and the conversions to the engines' specs.
export { loadPolicyRepo, loadPolicyFiles, listPolicyFiles, DEFAULT_SKIP_DIRS } from './load.js';
export type {
  PolicyLoadResult,
  PolicySourceFile,
  LoadPolicyRepoOptions,
  LoadPolicyFilesOptions,
} from './load.js';
export {
  validatePolicyRepo,
  formatPolicyErrorsText,
  formatPolicyValidationJson,
} from './validate-command.js';
export type { PolicyValidationResult } from './validate-command.js';
export {
  toBackupSpec,
  toRestoreSpec,
  documentsOfKind,
  resolveStorageLocation,
  policyErrorAt,
  BUILT_IN_STORAGE_LOCATION,
} from './convert.js';
export type { ResolvedStorageLocation } from './convert.js';
export { createSchemaValidator, readPolicySchemas, SCHEMA_DIR, SCHEMA_FILES } from './schema.js';
export type { SchemaValidator, PolicySchemas } from './schema.js';
export { formatFieldPath } from './field-path.js';
export { renderPolicyReference } from './reference-doc.js';
export * from './types.js';
