import { describe, expect, it } from 'vitest';
import {
  dns1123LabelError,
  dns1123SubdomainError,
  envVarNameError,
  labelValueError,
  namespaceFilterError,
  qualifiedNameError,
  secretKeyError,
} from './k8s-names.js';

/** Validators return undefined for valid input; the tests read that as the reason 'valid'. */
const valid = /^valid$/;

describe('dns1123SubdomainError', () => {
  it.each([
    ['nightly-shop', valid],
    ['a.b-c.d', valid],
    ['0', valid],
    ['Nightly', /DNS-1123 subdomain/],
    ['-shop', /DNS-1123 subdomain/],
    ['shop-', /DNS-1123 subdomain/],
    ['shop_1', /DNS-1123 subdomain/],
    ['a..b', /DNS-1123 subdomain/],
    ['', /DNS-1123 subdomain/],
    ['a'.repeat(254), /at most 253/],
  ])('%s', (value, expected) => {
    expect(dns1123SubdomainError(value) ?? 'valid').toMatch(expected);
  });
});

describe('dns1123LabelError', () => {
  it.each([
    ['shop', valid],
    ['shop-2', valid],
    ['shop.prod', /DNS-1123 label/],
    ['a'.repeat(64), /at most 63/],
  ])('%s', (value, expected) => {
    expect(dns1123LabelError(value) ?? 'valid').toMatch(expected);
  });
});

describe('qualifiedNameError', () => {
  it.each([
    ['app', valid],
    ['app.kubernetes.io/name', valid],
    ['Tier_1', valid],
    ['/name', /empty prefix/],
    ['Example.com/name', /invalid prefix/],
    ['example.com/', /empty name/],
    ['-app', /letters, digits/],
    ['app!', /letters, digits/],
    [`x/${'a'.repeat(64)}`, /longer than 63/],
  ])('%s', (value, expected) => {
    expect(qualifiedNameError(value) ?? 'valid').toMatch(expected);
  });
});

describe('labelValueError', () => {
  it.each([
    ['', valid],
    ['backend', valid],
    ['v1.2_3-x', valid],
    ['has space', /empty or letters/],
    ['-x', /empty or letters/],
    ['a'.repeat(64), /at most 63/],
  ])('%j', (value, expected) => {
    expect(labelValueError(value) ?? 'valid').toMatch(expected);
  });
});

describe('secretKeyError', () => {
  it.each([
    ['cloud', valid],
    ['.aws_credentials', valid],
    ['a/b', /letters, digits/],
    ['..', /must not be/],
  ])('%s', (value, expected) => {
    expect(secretKeyError(value) ?? 'valid').toMatch(expected);
  });
});

describe('envVarNameError', () => {
  it.each([
    ['AWS_ACCESS_KEY_ID', valid],
    ['_x1', valid],
    ['1X', /environment variable/],
    ['MY-VAR', /environment variable/],
  ])('%s', (value, expected) => {
    expect(envVarNameError(value) ?? 'valid').toMatch(expected);
  });
});

describe('namespaceFilterError (Velero wildcards)', () => {
  it.each([
    ['shop', valid],
    ['*', valid],
    ['shop-*', valid],
    ['', valid],
    ['Shop', /DNS-1123 label/],
    ['shop.prod', /DNS-1123 label/],
  ])('%j', (value, expected) => {
    expect(namespaceFilterError(value) ?? 'valid').toMatch(expected);
  });
});
