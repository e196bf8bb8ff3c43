import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { renderPolicyReference } from './reference-doc.js';
import { readPolicySchemas } from './schema.js';

const DOC = fileURLToPath(new URL('../../docs/policy-reference.md', import.meta.url));

describe('docs/policy-reference.md', () => {
  const rendered = renderPolicyReference(readPolicySchemas());

  it('is what scripts/gen-policy-docs.ts generates from the current schemas', async () => {
    expect(await readFile(DOC, 'utf8')).toBe(rendered);
  });

  it('is already in Prettier format, so format checks pass on the generated file', async () => {
    const options = (await prettier.resolveConfig(DOC)) ?? {};
    expect(await prettier.format(rendered, { ...options, filepath: DOC })).toBe(rendered);
    // Loading and running Prettier on the whole reference takes seconds on a loaded machine.
  }, 60_000);

  it('documents every field of every kind with its type, default and allowed values', () => {
    expect(rendered).toMatch(/\| `spec\.timeZone` +\| string +\| +\| `UTC` +\|/);
    expect(rendered).toMatch(
      /\| `spec\.verify\.cleanup` +\| string +\| +\| `Always` +\| .*One of: `Always`, `OnSuccess`\. +\|/,
    );
    expect(rendered).toMatch(/\| `spec\.provider` +\| string +\| yes +\| +\| .*One of: `aws`, `local`\. +\|/);
    expect(rendered).toMatch(
      /\| `includeClusterResources` +\| boolean or string +\| +\| `auto` +\| .*One of: `true`, `false`, `auto`\./,
    );
    expect(rendered).toMatch(/\| `spec\.template` +\| \[BackupTemplate\]\(#backuptemplate\) +\| yes/);
    expect(rendered).toContain('### LabelSelectorRequirement');
  });
});
