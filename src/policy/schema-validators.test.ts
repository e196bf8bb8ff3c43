// The precompiled validators (schema-validators.generated.ts) are the published schemas as ajv
// compiles them at run time: the committed file is what the generator writes today, and both
// give the same verdict, the same errors and the same filled-in defaults on valid and broken
// documents of every kind.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validatorModuleSource } from './schema-compile.js';
import { createSchemaValidator, readPolicySchemas } from './schema.js';
import type { PolicyKind } from './types.js';

const GENERATED = fileURLToPath(new URL('./schema-validators.generated.ts', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../policies/', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'schema' ? [] : yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Every document of the example repository, then each broken in a few ways. */
function documents(): { label: string; doc: Record<string, unknown> }[] {
  const valid = yamlFiles(EXAMPLES).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d, i) => ({
      label: `${file.slice(EXAMPLES.length)}#${i}`,
      doc: d.toJS() as Record<string, unknown>,
    })),
  );
  const broken = valid.flatMap(({ label, doc }) => {
    const spec = doc.spec as Record<string, unknown>;
    return [
      { label: `${label} unknown field`, doc: { ...doc, spec: { ...spec, retension: 3 } } },
      { label: `${label} wrong type`, doc: { ...doc, metadata: { name: 7 } } },
      { label: `${label} no spec`, doc: { ...doc, spec: undefined } },
      { label: `${label} empty spec`, doc: { ...doc, spec: {} } },
      {
        label: `${label} bad values`,
        doc: { ...doc, spec: Object.fromEntries(Object.keys(spec).map((k) => [k, ['x', -1, '']])) },
      },
    ];
  });
  return [...valid, ...broken];
}

describe('precompiled policy validators', () => {
  it('are what the generator writes from the schemas today (npx tsx scripts/gen-policy-validators.ts)', () => {
    expect(readFileSync(GENERATED, 'utf8') === validatorModuleSource(readPolicySchemas())).toBe(true);
  }, 120_000); // ajv compiles every schema: seconds on a loaded 2-core machine

  it('agree with the schemas compiled at run time: verdict, errors and defaults', () => {
    const precompiled = createSchemaValidator();
    const runtime = createSchemaValidator(readPolicySchemas());
    const cases = documents();
    expect(cases.length).toBeGreaterThan(30);
    let failing = 0;
    for (const { label, doc } of cases) {
      const kind = doc.kind as PolicyKind;
      const a = structuredClone(doc);
      const b = structuredClone(doc);
      const issues = precompiled.validate(kind, a);
      expect({ label, issues, doc: a }).toEqual({ label, issues: runtime.validate(kind, b), doc: b });
      if (issues.length > 0) failing++;
    }
    // The broken variants are broken: the comparison covered error messages, not only passes.
    expect(failing).toBeGreaterThan(cases.length / 2);
  }, 120_000);
});
