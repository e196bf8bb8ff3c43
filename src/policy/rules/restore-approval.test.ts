// RestoreApproval documents as a person writes them: a valid one loads with its defaults, and
// each mistake is an error naming the file, line and field.
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../load.js';
import { createSchemaValidator } from '../schema.js';

const validator = createSchemaValidator();
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
const load = (text: string) => loadPolicyFiles([{ file: 'approvals/shop.yaml', text }], { validator });
const errorsOf = (text: string) =>
  load(text).errors.map(({ file, line, column, path, code, message }) => ({
    file,
    line,
    column,
    path,
    code,
    message,
  }));

const head = ['apiVersion: lifeboat.dev/v1', 'kind: RestoreApproval', 'metadata:', '  name: shop-owners'];

describe('RestoreApproval documents', () => {
  it('loads namespaces, users and teams', () => {
    const result = load(
      y(
        ...head,
        'spec:',
        '  namespaces: [shop, "shop-*"]',
        '  approvers:',
        '    users: [alice]',
        '    teams: [acme/sre]',
      ),
    );
    expect(result.errors).toEqual([]);
    expect(result.documents.map((d) => [d.kind, d.metadata.name, d.spec])).toEqual([
      [
        'RestoreApproval',
        'shop-owners',
        { namespaces: ['shop', 'shop-*'], approvers: { users: ['alice'], teams: ['acme/sre'] } },
      ],
    ]);
  });

  it('refuses a rule nobody can satisfy', () => {
    expect(errorsOf(y(...head, 'spec:', '  namespaces: [shop]', '  approvers: {}'))).toEqual([
      {
        file: 'approvals/shop.yaml',
        line: 7,
        column: 3,
        path: 'spec.approvers',
        code: 'approval',
        message:
          'name at least one approver in users or teams: a rule nobody can satisfy would block every restore it covers',
      },
    ]);
  });

  it('names a team that is not organization/team, a login with a space and a bad namespace pattern', () => {
    expect(
      errorsOf(
        y(
          ...head,
          'spec:',
          '  namespaces: [Shop_1]',
          '  approvers:',
          '    users: [alice smith]',
          '    teams: [sre]',
        ),
      ),
    ).toEqual([
      expect.objectContaining({ line: 6, path: 'spec.namespaces[0]', code: 'namespace' }),
      expect.objectContaining({
        line: 8,
        path: 'spec.approvers.users[0]',
        code: 'approval',
        message: '"alice smith" is not a forge user login',
      }),
      expect.objectContaining({
        line: 9,
        path: 'spec.approvers.teams[0]',
        code: 'approval',
        message: '"sre" is not a team as organization/team',
      }),
    ]);
  });

  it('needs namespaces and approvers, and knows no other fields', () => {
    const errors = errorsOf(y(...head, 'spec:', '  approvers:', '    users: [alice]', '  reviewers: [bob]'));
    expect(errors.map((e) => [e.line, e.path, e.code])).toEqual([
      [5, 'spec.namespaces', 'schema'],
      [8, 'spec.reviewers', 'unknown-field'],
    ]);
    expect(errors[0]?.message).toContain('namespaces');
  });
});
