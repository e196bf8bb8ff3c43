// Turns ajv's errors into messages for the person editing the YAML: "unknown field "ttll"
// (did you mean "ttl"?)" instead of "must NOT have additional properties".
import type { ErrorObject } from 'ajv';
import { fromJsonPointer } from './field-path.js';
import { issue } from './issue.js';
import type { Issue } from './issue.js';
import {
  CREDENTIAL_ADVICE,
  looksLikeCredentialField,
  looksLikeCredentialValue,
} from './rules/credentials.js';
import { closestMatch } from './suggest.js';

const VOLUME_DATA =
  'this Velero field is not supported: lifeboat backs up volume data with CSI snapshots (snapshotVolumes, csiSnapshotTimeout), restic file-system copies (defaultVolumesToFsBackup) and snapshot data movement (snapshotMoveData)';

/** Velero fields lifeboat leaves out on purpose, with the reason. */
const NOT_SUPPORTED: Record<string, string> = {
  defaultVolumesToRestic: 'Velero renamed this field: use defaultVolumesToFsBackup',
  datamover: VOLUME_DATA,
  uploaderConfig: VOLUME_DATA,
  volumeSnapshotLocations: VOLUME_DATA,
  itemOperationTimeout: 'this Velero field is not supported: lifeboat has no asynchronous item operations',
  orderedResources: 'this Velero field is not supported: lifeboat chooses the order',
  resourcePolicy: 'this Velero field is not supported: use the include and exclude filters',
  useOwnerReferencesInBackup: 'this Velero field does not apply: lifeboat backups are not Kubernetes objects',
  resourceModifier: "write the rules inline under resourceModifiers (Velero's ConfigMap format, version v1)",
  namespace: 'policy documents are not namespaced',
};

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  boolean: 'true or false',
  integer: 'a whole number',
  number: 'a number',
  null: 'empty',
};

export function describeSchemaError(error: ErrorObject, data: unknown): Issue {
  const path = fromJsonPointer(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const field = String(params.missingProperty);
      return issue('schema', [...path, field], `missing required field "${field}"`, 'key');
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = Object.keys(propertiesOf(error.parentSchema));
      const credential = looksLikeCredentialField(field);
      return issue(
        credential ? 'inline-credential' : 'unknown-field',
        [...path, field],
        unknownFieldMessage(field, allowed, credential),
        'key',
      );
    }
    case 'type':
      return issue(
        'schema',
        path,
        `must be ${TYPE_WORDS[String(params.type)] ?? String(params.type)}, not ${describeValue(error.data)}`,
      );
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(formatAllowed).join(', ');
      return issue('schema', path, `must be one of: ${allowed} (not ${formatValue(error.data)})`);
    }
    case 'const':
      return issue('schema', path, `must be ${formatAllowed(params.allowedValue)}`);
    default:
      return issue('schema', path, limitMessage(error));
  }
}

function unknownFieldMessage(field: string, allowed: string[], credential: boolean): string {
  const head = `unknown field "${field}"`;
  if (credential) return `${head}: ${CREDENTIAL_ADVICE}`;
  const reason = NOT_SUPPORTED[field];
  if (reason) return `${head}: ${reason}`;
  const suggestion = closestMatch(field, allowed);
  if (suggestion) return `${head} (did you mean "${suggestion}"?)`;
  return allowed.length > 0 ? `${head}; allowed here: ${allowed.join(', ')}` : head;
}

/** Messages for the size limits (minLength, minItems, minProperties, ...). */
function limitMessage(error: ErrorObject): string {
  const limit = Number((error.params as { limit?: unknown }).limit);
  const fields = Object.keys(propertiesOf(error.parentSchema));
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long`;
    case 'minItems':
      return limit === 1 ? 'must list at least one item' : `must list at least ${limit} items`;
    case 'minProperties':
    case 'maxProperties':
      if (schema.minProperties === 1 && schema.maxProperties === 1)
        return `set exactly one of: ${fields.join(', ')}`;
      return error.keyword === 'minProperties'
        ? `set at least ${limit === 1 ? 'one' : limit} of: ${fields.join(', ')}`
        : `set at most ${limit} of: ${fields.join(', ')}`;
    case 'minimum':
      return `must be at least ${limit}`;
    default:
      return error.message ?? `fails the schema's ${error.keyword} rule`;
  }
}

function propertiesOf(schema: unknown): Record<string, unknown> {
  const properties = (schema as { properties?: unknown } | undefined)?.properties;
  return typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>) : {};
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'number') return `the number ${value}`;
  return 'a string';
}

/** Enum members as an author would type them in YAML: `aws`, `true`. */
function formatAllowed(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A value the author wrote, quoted and shortened; withheld when it could be a credential. */
function formatValue(value: unknown): string {
  if (typeof value === 'string' && looksLikeCredentialValue(value))
    return 'a value that looks like a credential';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
