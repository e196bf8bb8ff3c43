// Writes src/policy/schema-validators.generated.ts (the policy schemas compiled by ajv ahead of
// time) from policies/schema/*.json. Run after changing a schema:
//   npx tsx scripts/gen-policy-validators.ts
// src/policy/schema-validators.test.ts fails while the committed file is out of date.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validatorModuleSource } from '../src/policy/schema-compile.js';
import { readPolicySchemas } from '../src/policy/schema.js';

const target = fileURLToPath(new URL('../src/policy/schema-validators.generated.ts', import.meta.url));
await writeFile(target, validatorModuleSource(readPolicySchemas()));
console.log(`wrote ${target}`);
