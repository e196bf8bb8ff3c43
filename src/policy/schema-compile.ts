// How the policy schemas are compiled with ajv, in one place: at run time (tests, a changed
// schema) and ahead of time into schema-validators.generated.ts, which the CLI and the
// reconciler use. Compiling the four schemas cost ~0.4 s of CPU on every start of `validate`
// and of every reconcile pass; importing the generated code costs ~20 ms (ADR 0029).
import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv';
import type { Ajv, ValidateFunction } from 'ajv';
import type * as StandaloneModule from 'ajv/dist/standalone/index.js';
import type { PolicyKind } from './types.js';

// ajv itself is loaded only when something is compiled: loading it costs ~70 ms of CPU, which
// the precompiled validators spare every start.
const require = createRequire(import.meta.url);

/** The shared definitions, referenced from the kind schemas as `defs.json#/definitions/...`. */
export const SHARED_SCHEMA_FILE = 'defs.json';

/** A JSON Schema as parsed JSON; only the keywords our schemas use are read by name. */
export type JsonSchema = Record<string, unknown>;

export interface PolicySchemas {
  shared: JsonSchema;
  kinds: Record<PolicyKind, JsonSchema>;
}

// strict: a schema mistake fails loudly. verbose: errors carry the failing value and schema,
// which the messages use (allowed field names for "did you mean", the one-of sets of a
// credential). useDefaults: validation fills in the schemas' defaults.
const OPTIONS = { strict: true, allErrors: true, verbose: true, useDefaults: true } as const;

function ajvWith(schemas: PolicySchemas, source: boolean): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof AjvModule;
  const ajv = new AjvClass({ ...OPTIONS, ...(source ? { code: { source: true, esm: true } } : {}) });
  ajv.addSchema(schemas.shared, SHARED_SCHEMA_FILE);
  for (const [kind, schema] of Object.entries(schemas.kinds)) ajv.addSchema(schema, kind);
  return ajv;
}

/** Compile every kind's schema now (throws on a schema ajv's strict mode refuses). */
export function compileSchemas(schemas: PolicySchemas): Record<PolicyKind, ValidateFunction> {
  const ajv = ajvWith(schemas, false);
  const compiled = {} as Record<PolicyKind, ValidateFunction>;
  for (const kind of Object.keys(schemas.kinds) as PolicyKind[]) {
    const fn = ajv.getSchema(kind);
    if (!fn) throw new Error(`no schema for kind ${kind}`);
    compiled[kind] = fn;
  }
  return compiled;
}

/**
 * The source of schema-validators.generated.ts: ajv's standalone code, one exported validator
 * per kind. ajv's ESM output still `require`s its runtime helpers (the string length of
 * minLength), so the module makes itself a `require`.
 */
export function validatorModuleSource(schemas: PolicySchemas): string {
  const ajv = ajvWith(schemas, true);
  const exports = Object.fromEntries(Object.keys(schemas.kinds).map((kind) => [kind, kind]));
  const standalone = require('ajv/dist/standalone/index.js') as typeof StandaloneModule;
  const code = standalone.default(ajv, exports).replace(/^"use strict";/, '');
  return [
    '// @ts-nocheck',
    '/* eslint-disable */',
    '// Generated from policies/schema/*.json by `npx tsx scripts/gen-policy-validators.ts`; do not edit.',
    '// src/policy/schema-validators.test.ts fails while this file is out of date (ADR 0029).',
    'import { createRequire } from "node:module";',
    'const require = createRequire(import.meta.url);',
    code,
    '',
  ].join('\n');
}
