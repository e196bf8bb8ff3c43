// Kubernetes name syntax, as k8s.io/apimachinery/pkg/util/validation checks it
// (IsDNS1123Subdomain, IsDNS1123Label, IsQualifiedName, IsValidLabelValue). Each returns the
// reason a value is invalid, or undefined when it is valid.

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const QUALIFIED_NAME_PART_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const ENV_VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length > 253) return 'must be at most 253 characters';
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    return "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
  }
  return undefined;
}

export function dns1123LabelError(value: string): string | undefined {
  if (value.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL_RE.test(value)) {
    return "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name of up to 63. */
export function qualifiedNameError(value: string): string | undefined {
  const slash = value.lastIndexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, value] : [value.slice(0, slash), value.slice(slash + 1)];
  if (prefix !== undefined) {
    if (prefix === '') return 'has an empty prefix before "/"';
    const prefixError = dns1123SubdomainError(prefix);
    if (prefixError) return `has an invalid prefix: it ${prefixError}`;
  }
  if (name === '') return 'has an empty name';
  if (name.length > 63) return 'has a name part longer than 63 characters';
  if (!QUALIFIED_NAME_PART_RE.test(name)) {
    return "must be a name of letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional 'prefix/'";
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be at most 63 characters';
  if (!LABEL_VALUE_RE.test(value)) {
    return "must be empty or letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Keys of a Secret's data (k8s IsConfigMapKey). */
export function secretKeyError(value: string): string | undefined {
  if (value.length > 253) return 'must be at most 253 characters';
  if (!SECRET_KEY_RE.test(value)) return "must consist of letters, digits, '-', '_' and '.'";
  if (value === '.' || value === '..' || value.startsWith('..'))
    return "must not be '.' or '..' or start with '..'";
  return undefined;
}

export function envVarNameError(value: string): string | undefined {
  return ENV_VAR_RE.test(value)
    ? undefined
    : "must be an environment variable name: letters, digits and '_', not starting with a digit";
}

/**
 * Namespace names in filters. Velero accepts '*' as a wildcard inside a name, and '' as "no
 * namespace"; it validates the rest as a namespace name with each '*' replaced by a letter
 * (velero pkg/util/collections/includes_excludes.go, validateNamespaceName).
 */
export function namespaceFilterError(value: string): string | undefined {
  if (value === '') return undefined;
  return dns1123LabelError(value.replaceAll('*', 'x'));
}
