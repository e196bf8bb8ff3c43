// Renders docs/policy-reference.md from the JSON Schemas, so the reference cannot drift from
// what the loader enforces. scripts/gen-policy-docs.ts writes the file; a unit test checks the
// committed file is current. The output is already in Prettier's format (aligned tables).
import type { JsonSchema, PolicySchemas } from './schema.js';
import { SCHEMA_FILES, SHARED_SCHEMA_FILE } from './schema.js';
import { API_VERSION, POLICY_KINDS } from './types.js';
import type { PolicyKind } from './types.js';

interface Row {
  field: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

/** Resolves `$ref`s within one schema file and into the shared definitions. */
class SchemaIndex {
  constructor(private readonly schemas: PolicySchemas) {}

  sharedRoot(): JsonSchema {
    return this.schemas.shared;
  }

  resolve(ref: string, from: JsonSchema): { name: string; schema: JsonSchema; shared: boolean } {
    const [file, pointer = ''] = ref.split('#');
    const shared = file === SHARED_SCHEMA_FILE || (file === '' && from === this.schemas.shared);
    const root = shared ? this.schemas.shared : from;
    const name = pointer.split('/').pop() ?? '';
    const definitions = (root.definitions ?? {}) as Record<string, JsonSchema>;
    const schema = definitions[name];
    if (!pointer.startsWith('/definitions/') || !schema) throw new Error(`cannot resolve $ref ${ref}`);
    return { name, schema, shared };
  }
}

/** Shared object types get their own section and are linked; everything else is inlined. */
function isLinkedType(schema: JsonSchema): boolean {
  return schema.type === 'object' && schema.properties !== undefined;
}

export function renderPolicyReference(schemas: PolicySchemas): string {
  const index = new SchemaIndex(schemas);
  const sections = [intro(), ...POLICY_KINDS.map((kind) => kindSection(kind, schemas.kinds[kind], index))];
  const shared = (schemas.shared.definitions ?? {}) as Record<string, JsonSchema>;
  sections.push(
    '## Shared types\n\nTypes used by several kinds, from [`policies/schema/defs.json`](../policies/schema/defs.json).',
  );
  for (const [name, schema] of Object.entries(shared)) {
    if (!isLinkedType(schema)) continue;
    sections.push(
      [`### ${name}`, text(schema.description), table(rows(schema, '', schemas.shared, index))].join('\n\n'),
    );
  }
  return `${sections.join('\n\n')}\n`;
}

function intro(): string {
  const kinds = POLICY_KINDS.map(
    (kind) =>
      `- [${kind}](#${kind.toLowerCase()}): [\`policies/schema/${SCHEMA_FILES[kind]}\`](../policies/schema/${SCHEMA_FILES[kind]})`,
  );
  return [
    '<!-- Generated from policies/schema/*.json by scripts/gen-policy-docs.ts. Do not edit by hand. -->',
    '# Policy reference',
    `Policy documents are YAML files in the policy repository, shaped like Kubernetes objects: \`apiVersion: ${API_VERSION}\`, a \`kind\`, \`metadata\` and a \`spec\`. A file may hold several documents separated by \`---\`. Unknown fields are errors, and credentials never appear in a document.`,
    kinds.join('\n'),
    'Editors with the YAML language server validate and complete a document whose file starts with a schema comment, for example:',
    '```yaml\n# yaml-language-server: $schema=../schema/backup-schedule.json\n```',
    'Run `lifeboat validate <dir>` to check a repository; every error names the file, line, column and field.',
  ].join('\n\n');
}

function kindSection(kind: PolicyKind, schema: JsonSchema, index: SchemaIndex): string {
  const file = SCHEMA_FILES[kind];
  return [
    `## ${kind}`,
    text(schema.description),
    `Schema: [\`policies/schema/${file}\`](../policies/schema/${file})`,
    table(rows(schema, '', schema, index)),
  ].join('\n\n');
}

/** One row per field, descending into inline objects and this file's own definitions. */
function rows(schema: JsonSchema, prefix: string, root: JsonSchema, index: SchemaIndex): Row[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([name, property]) => {
    const field = `${prefix}${name}`;
    const target = property.$ref ? index.resolve(text(property.$ref), root) : undefined;
    const effective = target?.schema ?? property;
    const row: Row = {
      field,
      type: typeText(property, root, index),
      required: required.has(name),
      default: property.default === undefined ? '' : `\`${formatValue(property.default)}\``,
      description: describe(property, effective),
    };
    const linked = target?.shared === true && isLinkedType(target.schema);
    const nested = !linked && isLinkedType(effective) ? rows(effective, `${field}.`, root, index) : [];
    return [row, ...nested];
  });
}

function typeText(schema: JsonSchema, root: JsonSchema, index: SchemaIndex): string {
  if (schema.$ref) {
    const target = index.resolve(text(schema.$ref), root);
    if (target.shared && isLinkedType(target.schema))
      return `[${target.name}](#${target.name.toLowerCase()})`;
    return typeText(target.schema, target.shared ? index.sharedRoot() : root, index);
  }
  switch (schema.type) {
    case 'array':
      return `list of ${typeText(schema.items as JsonSchema, root, index)}`;
    case 'object':
      return typeof schema.additionalProperties === 'object'
        ? `map of string to ${typeText(schema.additionalProperties as JsonSchema, root, index)}`
        : 'object';
    case undefined: {
      const types = [...new Set(((schema.enum ?? []) as unknown[]).map((value) => typeof value))];
      // A schema without a type or values (an open Container's fields) takes anything.
      return types.length > 0 ? types.join(' or ') : 'any value';
    }
    default:
      return text(schema.type);
  }
}

/** The field's own description, else its type's, plus what the schema constrains. */
function describe(property: JsonSchema, effective: JsonSchema): string {
  const parts = [text(property.description ?? effective.description)];
  const values = (property.enum ?? effective.enum) as unknown[] | undefined;
  const constant = property.const ?? effective.const;
  if (constant !== undefined) parts.push(`Always \`${formatValue(constant)}\`.`);
  else if (values) parts.push(`One of: ${values.map((value) => `\`${formatValue(value)}\``).join(', ')}.`);
  const minimum = property.minimum ?? effective.minimum;
  if (typeof minimum === 'number') parts.push(`At least ${minimum}.`);
  if ((property.minItems ?? effective.minItems) === 1) parts.push('At least one item.');
  return parts.filter((part) => part !== '').join(' ');
}

/** A schema keyword that holds text; '' when absent. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A Markdown table laid out as Prettier lays it out: columns padded to their widest cell. */
function table(data: Row[]): string {
  const header = ['Field', 'Type', 'Required', 'Default', 'Description'];
  const body = data.map((row) => [
    `\`${row.field}\``,
    row.type,
    row.required ? 'yes' : '',
    row.default,
    row.description,
  ]);
  const cells = [header, ...body].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')));
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [head = [], ...rest] = cells;
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...rest.map(line)].join('\n');
}
