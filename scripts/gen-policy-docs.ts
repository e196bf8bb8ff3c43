// Writes docs/policy-reference.md from policies/schema/*.json. Run after changing a schema:
//   npx tsx scripts/gen-policy-docs.ts
// src/policy/reference-doc.test.ts fails while the committed file is out of date.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderPolicyReference } from '../src/policy/reference-doc.js';
import { readPolicySchemas } from '../src/policy/schema.js';

const target = fileURLToPath(new URL('../docs/policy-reference.md', import.meta.url));
await writeFile(target, renderPolicyReference(readPolicySchemas()));
console.log(`wrote ${target}`);
