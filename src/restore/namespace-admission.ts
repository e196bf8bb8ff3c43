// Whether anything beyond the API server's built-in validation can refuse a Namespace create.
//
// A restore into a new cluster creates one Namespace per restored namespace, and the plan
// dry-runs each create so that a reviewer sees a namespace a policy refuses (ADR 0036). Only
// admission webhooks and admission policies decide such a thing from outside the API server;
// when none of them can see a Namespace create, and the restore may create namespaces at all,
// every dry run would answer what the archive already shows (a name and labels the source
// cluster accepted), and the plan decides them without asking 100 times (ADR 0048).
import type { KubeObject } from '../kube/types.js';

/** The admission resources that can intercept a create (groupResource form). */
export const ADMISSION_RESOURCES = [
  'validatingwebhookconfigurations.admissionregistration.k8s.io',
  'mutatingwebhookconfigurations.admissionregistration.k8s.io',
  'validatingadmissionpolicies.admissionregistration.k8s.io',
  'mutatingadmissionpolicies.admissionregistration.k8s.io',
] as const;

interface Rule {
  apiGroups?: unknown;
  operations?: unknown;
  resources?: unknown;
  scope?: unknown;
}

const has = (list: unknown, ...values: string[]): boolean =>
  Array.isArray(list) && list.some((v) => typeof v === 'string' && values.includes(v));

/**
 * Whether a rule (admissionregistration RuleWithOperations, or a policy's NamedRuleWithOperations)
 * can match a create of a Namespace. Selectors (namespaceSelector, objectSelector, match
 * conditions, excludeResourceRules) are not evaluated: a rule that might match counts.
 */
export function ruleMatchesNamespaceCreate(rule: Rule): boolean {
  return (
    has(rule.apiGroups, '', '*') &&
    has(rule.operations, 'CREATE', '*') &&
    has(rule.resources, 'namespaces', '*', '*/*') &&
    (rule.scope === undefined || has([rule.scope], '*', 'Cluster'))
  );
}

/**
 * The webhooks and policies among `objects` (of ADMISSION_RESOURCES) that can see a Namespace
 * create, as `Kind/name` (a webhook configuration names the webhook too).
 */
export function namespaceCreateInterceptors(objects: KubeObject[]): string[] {
  const found: string[] = [];
  for (const obj of objects) {
    const name = `${obj.kind}/${obj.metadata.name ?? ''}`;
    const webhooks = (obj as { webhooks?: unknown }).webhooks;
    if (Array.isArray(webhooks)) {
      for (const hook of webhooks as { name?: unknown; rules?: unknown }[]) {
        const rules = Array.isArray(hook.rules) ? (hook.rules as Rule[]) : [];
        if (rules.some(ruleMatchesNamespaceCreate)) found.push(`${name} (${String(hook.name)})`);
      }
      continue;
    }
    const spec = (obj as { spec?: { matchConstraints?: { resourceRules?: unknown } } }).spec;
    const rules = spec?.matchConstraints?.resourceRules;
    // A policy without resource rules matches nothing by itself, but only its bindings say so
    // for certain; an unreadable one counts as matching.
    if (!Array.isArray(rules) || (rules as Rule[]).some(ruleMatchesNamespaceCreate)) found.push(name);
  }
  return found;
}
