// The published schemas: they compile under ajv strict mode, reject unknown fields
// everywhere, describe every field (the reference documentation is generated from them), and
// carry the same defaults as the code.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TTL } from '../backup/spec.js';
import { createSchemaValidator, readPolicySchemas } from './schema.js';
import type { JsonSchema } from './schema.js';

const schemas = readPolicySchemas();
const all: [string, JsonSchema][] = [['defs.json', schemas.shared], ...Object.entries(schemas.kinds)];

/** Every subschema with its JSON Pointer inside its file. */
function subschemas(schema: unknown, pointer = ''): [string, JsonSchema][] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return [];
  const node = schema as JsonSchema;
  const children: [string, unknown][] = [];
  for (const key of ['properties', 'definitions'] as const) {
    for (const [name, child] of Object.entries((node[key] as Record<string, unknown> | undefined) ?? {})) {
      children.push([`${pointer}/${key}/${name}`, child]);
    }
  }
  if (node.items !== undefined) children.push([`${pointer}/items`, node.items]);
  if (typeof node.additionalProperties === 'object')
    children.push([`${pointer}/additionalProperties`, node.additionalProperties]);
  return [[pointer, node], ...children.flatMap(([p, child]) => subschemas(child, p))];
}

describe('policy schemas', () => {
  it('compile in ajv strict mode', () => {
    expect(() => createSchemaValidator(schemas)).not.toThrow();
  }, 120_000); // compiling every schema takes seconds on a loaded 2-core machine

  it.each(all)('%s closes every object to unknown fields', (_file, schema) => {
    const open = subschemas(schema)
      .filter(([, node]) => node.type === 'object' && node.additionalProperties !== false)
      // A map (labels, namespaceMapping) has no fixed fields; its values are typed instead.
      .filter(([, node]) => node.properties !== undefined || typeof node.additionalProperties !== 'object');
    expect(open.map(([pointer]) => pointer)).toEqual([]);
  });

  it.each(all)('%s describes every field', (_file, schema) => {
    const fields = subschemas(schema).filter(([pointer]) => /\/properties\/[^/]+$/.test(pointer));
    const bare = fields.filter(([, node]) => typeof node.description !== 'string' && node.$ref === undefined);
    expect(bare.map(([pointer]) => pointer)).toEqual([]);
  });

  it('defaults a backup TTL to the engine default', () => {
    const template = (schemas.shared.definitions as Record<string, JsonSchema>).BackupTemplate as JsonSchema;
    expect((template.properties as Record<string, JsonSchema>).ttl?.default).toBe(DEFAULT_TTL);
  });
});
