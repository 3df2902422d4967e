/**
 * CRD generator: the TypeBox schemas Legate validates with (`src/resources/schemas/index.ts`) →
 * `apiextensions.k8s.io/v1` CustomResourceDefinitions in `deploy/crds.yaml`, and the same bytes in
 * the Helm chart's `crds/` folder. Run `npm run gen:crds` after changing a schema;
 * `test/deploy/crds.test.ts` fails while the committed file is stale.
 *
 * Contract:
 * - Only kinds Legate serves (`kAmbassadorSchemas`) get a CRD: a CRD for a kind Legate ignores would
 *   tell users their objects do something. Versions: v3alpha1 (served, storage) and v2 (served,
 *   deprecated), each with its own schema, `conversion: None`. See deploy/README.md for why.
 * - JSON Schema → Kubernetes *structural* schema (`toStructural`): TypeBox's `Record` becomes
 *   `additionalProperties`; a union of literals of one type becomes `enum`; an integer|string
 *   union becomes `x-kubernetes-int-or-string`; any other union (v2's string-or-list forms) and
 *   `Unknown` become an untyped `x-kubernetes-preserve-unknown-fields` node, so the API server
 *   accepts every form and Legate's own validation reports the bad ones in status; closed objects
 *   (`additionalProperties: false`) rely on the API server's pruning, open ones keep their unknown
 *   fields. A schema keyword the converter does not know is an error, never silently copied.
 * - `structuralProblems` checks the rules the converter relies on; the generator refuses to write
 *   a schema that breaks them.
 * - Deterministic output (key order follows the schemas), so "up to date" is a string compare.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { AmbassadorGroup, kAmbassadorSchemas } from '../src/resources/schemas/index.js';

/** A Kubernetes `JSONSchemaProps` as the generator emits it (a plain JSON object). */
export type KubeSchema = { [key: string]: unknown };

/** Versions installed as CRD versions, in the order Kubernetes lists them. */
export const kCrdVersions = ['v3alpha1', 'v2'] as const;
export const kStorageVersion = 'v3alpha1';

/** Where the generated file lives, relative to the repository root. */
export const kCrdPaths = ['deploy/crds.yaml', 'deploy/helm/legate/crds/crds.yaml'] as const;

interface KindInfo {
  readonly plural: string;
  /** Printer columns per version (JSONPath into the object as served in that version). */
  readonly columns: (version: string) => KubeSchema[];
  /** Whether `spec` must be present (a Mapping without prefix/service is meaningless). */
  readonly specRequired: boolean;
}

const stateColumns: KubeSchema[] = [
  { name: 'State', type: 'string', jsonPath: '.status.state' },
  { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

const kKinds: Readonly<Record<string, KindInfo>> = {
  Mapping: {
    plural: 'mappings',
    specRequired: true,
    columns: (version) => [
      version === 'v2'
        ? { name: 'Host', type: 'string', jsonPath: '.spec.host' }
        : { name: 'Hostname', type: 'string', jsonPath: '.spec.hostname' },
      { name: 'Prefix', type: 'string', jsonPath: '.spec.prefix' },
      { name: 'Service', type: 'string', jsonPath: '.spec.service' },
      ...stateColumns,
    ],
  },
  Module: { plural: 'modules', specRequired: false, columns: () => stateColumns },
};

// ---------------------------------------------------------------------------------------------
// JSON Schema → structural schema

/** Keywords copied unchanged from a TypeBox node onto the structural node. */
const kCopied = new Set([
  'description',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'enum',
]);
// Not copied, so a schema using them fails generation: draft-07 `exclusiveMinimum` is a number
// where OpenAPI v3.0 wants a boolean, and Kubernetes forbids `uniqueItems: true`.
/** Keywords handled by the converter itself. */
const kHandled = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'items',
  'anyOf',
  'const',
]);
/** Keywords that carry no meaning for Kubernetes and are dropped. */
const kDropped = new Set(['$id', '$schema', 'title', 'examples']);

/** TypeBox's key pattern for `Record(String, X)`. */
const kAnyKeyPattern = '^(.*)$';

function fail(path: string, message: string): never {
  throw new Error(`gen-crds: ${path}: ${message}`);
}

function isObject(v: unknown): v is KubeSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarTypeOf(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return 'object';
}

/** Short human form of a JSON Schema node for the description of a loosened union. */
function describeForm(node: unknown): string {
  if (!isObject(node)) return 'any';
  if ('const' in node) return JSON.stringify(node['const']);
  if (node['type'] === 'array') return `list of ${describeForm(node['items'])}`;
  if (node['type'] === 'object') return node['patternProperties'] ? 'map' : 'object';
  if (typeof node['type'] === 'string') return node['type'];
  return 'any';
}

/**
 * One TypeBox (JSON Schema draft-07 subset) node → a structural Kubernetes schema node.
 * `path` is a JSON-path-like location used in error messages.
 */
export function toStructural(node: unknown, path = '$'): KubeSchema {
  if (!isObject(node)) fail(path, 'schema node is not an object');
  for (const key of Object.keys(node)) {
    if (!kCopied.has(key) && !kHandled.has(key) && !kDropped.has(key)) {
      fail(path, `unsupported schema keyword "${key}"`);
    }
  }
  const out: KubeSchema = {};
  if (typeof node['description'] === 'string') out['description'] = node['description'];

  if (Array.isArray(node['anyOf'])) return convertUnion(node['anyOf'], out);
  if ('const' in node) {
    const value = node['const'];
    out['type'] = scalarTypeOf(value);
    if (out['type'] === 'object') fail(path, 'non-scalar const');
    out['enum'] = [value];
    return out;
  }

  const type = node['type'];
  if (type === undefined) {
    // T.Unknown() / T.Any(): any JSON value.
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  if (typeof type !== 'string') fail(path, 'type lists are not structural; use a union');
  out['type'] = type;
  for (const key of kCopied) {
    if (key !== 'description' && key in node) out[key] = node[key];
  }

  if (type === 'array') {
    if (!isObject(node['items'])) fail(path, 'array without a single items schema');
    out['items'] = toStructural(node['items'], `${path}[]`);
    return out;
  }
  if (type !== 'object') return out;

  const props = node['properties'];
  const patterns = node['patternProperties'];
  const extra = node['additionalProperties'];
  if (props !== undefined && patterns !== undefined) fail(path, 'properties with patternProperties');
  if (isObject(patterns)) {
    const keys = Object.keys(patterns);
    if (keys.length !== 1 || keys[0] !== kAnyKeyPattern) {
      fail(path, `patternProperties other than "${kAnyKeyPattern}" cannot be expressed`);
    }
    out['additionalProperties'] = toStructural(patterns[kAnyKeyPattern], `${path}.*`);
    return out;
  }
  if (isObject(props)) {
    const converted: KubeSchema = {};
    for (const [name, sub] of Object.entries(props)) converted[name] = toStructural(sub, `${path}.${name}`);
    out['properties'] = converted;
    if (Array.isArray(node['required']) && node['required'].length > 0) {
      out['required'] = [...node['required']];
    }
    // Closed objects: the API server prunes unknown fields (and `kubectl --validate=strict`
    // rejects them). Open objects keep what they do not describe.
    if (extra === true || isObject(extra)) out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  if (isObject(extra)) out['additionalProperties'] = toStructural(extra, `${path}.*`);
  else if (extra !== false) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

function convertUnion(members: unknown[], out: KubeSchema): KubeSchema {
  // Union of literals of one scalar type → enum.
  if (members.every((m) => isObject(m) && 'const' in m)) {
    const values = members.map((m) => (m as KubeSchema)['const']);
    const types = new Set(values.map(scalarTypeOf));
    if (types.size === 2 && types.has('integer') && types.has('number')) types.delete('integer');
    if (types.size === 1 && !types.has('object')) {
      out['type'] = [...types][0];
      out['enum'] = values;
      return out;
    }
  }
  // integer | string → the one union Kubernetes types natively.
  const plainTypes = members.map((m) => (isObject(m) && !('const' in m) ? m['type'] : undefined));
  if (
    members.length === 2 &&
    plainTypes.includes('string') &&
    (plainTypes.includes('integer') || plainTypes.includes('number'))
  ) {
    out['x-kubernetes-int-or-string'] = true;
    return out;
  }
  // Anything else has no structural form: accept every value here, validate in Legate.
  const forms = members.map(describeForm).join(' or ');
  const note = `Accepted forms: ${forms} (checked by Legate, reported in status).`;
  out['description'] = typeof out['description'] === 'string' ? `${out['description']} ${note}` : note;
  out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structural checker

/** Keywords a node may carry in the schemas this generator emits. */
const kAllowedInOutput = new Set([
  ...kCopied,
  'type',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
]);
const kTypes = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/**
 * The structural-schema rules (Kubernetes "Specifying a structural schema") and CRD validation
 * rules the generator relies on, checked over a whole tree. Returns one message per problem.
 * `path` names the node in messages.
 */
export function structuralProblems(node: unknown, path = '$'): string[] {
  const problems: string[] = [];
  const walk = (n: unknown, p: string): void => {
    if (!isObject(n)) {
      problems.push(`${p}: not a schema object`);
      return;
    }
    for (const key of Object.keys(n)) {
      if (!kAllowedInOutput.has(key)) problems.push(`${p}: keyword "${key}" is not allowed`);
    }
    const preserve = n['x-kubernetes-preserve-unknown-fields'];
    const intOrString = n['x-kubernetes-int-or-string'];
    if (preserve !== undefined && preserve !== true) {
      problems.push(`${p}: x-kubernetes-preserve-unknown-fields must be true or absent`);
    }
    if (intOrString !== undefined && intOrString !== true) {
      problems.push(`${p}: x-kubernetes-int-or-string must be true or absent`);
    }
    const type = n['type'];
    if (type === undefined) {
      if (preserve !== true && intOrString !== true) {
        problems.push(`${p}: no type (only allowed with preserve-unknown-fields or int-or-string)`);
      }
    } else if (typeof type !== 'string' || !kTypes.has(type)) {
      problems.push(`${p}: type ${JSON.stringify(type)} is not a single OpenAPI type`);
    }
    if (intOrString === true && type !== undefined) problems.push(`${p}: int-or-string with a type`);
    if (n['properties'] !== undefined && n['additionalProperties'] !== undefined) {
      problems.push(`${p}: properties and additionalProperties are mutually exclusive`);
    }
    if (n['additionalProperties'] === false || n['additionalProperties'] === true) {
      problems.push(`${p}: additionalProperties must be a schema (unknown fields are pruned)`);
    }
    if ((n['properties'] !== undefined || n['additionalProperties'] !== undefined) && type !== 'object') {
      problems.push(`${p}: properties on a non-object`);
    }
    if (type === 'array' && !isObject(n['items'])) problems.push(`${p}: array without an items schema`);
    if (n['items'] !== undefined && type !== 'array') problems.push(`${p}: items on a non-array`);
    if (Array.isArray(n['enum'])) {
      for (const v of n['enum']) {
        const t = scalarTypeOf(v);
        if (t !== type && !(type === 'number' && t === 'integer')) {
          problems.push(`${p}: enum value ${JSON.stringify(v)} is not of type ${String(type)}`);
        }
      }
    }
    const props = n['properties'];
    if (props !== undefined && !isObject(props)) problems.push(`${p}: properties is not a map`);
    const propNames = isObject(props) ? new Set(Object.keys(props)) : new Set<string>();
    if (n['required'] !== undefined) {
      if (!Array.isArray(n['required'])) problems.push(`${p}: required is not a list`);
      else {
        for (const r of n['required']) {
          if (!propNames.has(r)) problems.push(`${p}: required field "${r}" is not a property`);
        }
      }
    }
    if (n['x-kubernetes-list-type'] === 'map') {
      const keys = n['x-kubernetes-list-map-keys'];
      const item = n['items'];
      const itemRequired = isObject(item) && Array.isArray(item['required']) ? item['required'] : [];
      if (!Array.isArray(keys) || keys.length === 0) problems.push(`${p}: list-type map without keys`);
      else {
        for (const k of keys) {
          if (!itemRequired.includes(k)) problems.push(`${p}: list map key "${k}" is not required`);
        }
      }
    }
    if (isObject(props)) for (const [k, v] of Object.entries(props)) walk(v, `${p}.${k}`);
    if (isObject(n['additionalProperties'])) walk(n['additionalProperties'], `${p}.*`);
    if (n['items'] !== undefined) walk(n['items'], `${p}[]`);
  };
  walk(node, path);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// CRDs

/**
 * The status Legate's status writer (`src/control/status-writer.ts`) writes through the status
 * subresource: Emissary's `{state, reason}` plus `observedGeneration`. `conditions` is reserved
 * for Kubernetes-style conditions; nothing writes it yet.
 */
export const kStatusSchema: KubeSchema = {
  type: 'object',
  description: 'Written by the Legate replica holding the status lease.',
  properties: {
    state: {
      type: 'string',
      description: 'Running: in use (possibly with warnings, see reason). Inactive: left out, see reason.',
      enum: ['Running', 'Inactive'],
    },
    reason: { type: 'string', description: 'The findings behind the state.' },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'metadata.generation this status describes.',
    },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          type: { type: 'string' },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          reason: { type: 'string' },
          message: { type: 'string' },
          observedGeneration: { type: 'integer', format: 'int64' },
          lastTransitionTime: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
};

function versionSchema(kind: string, version: string): KubeSchema {
  const spec = kAmbassadorSchemas[kind]?.[version];
  if (spec === undefined) fail(kind, `no schema for version ${version}`);
  const root: KubeSchema = {
    type: 'object',
    description: `${kind} (${AmbassadorGroup}/${version}), validated by Legate's schema of the same version.`,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: toStructural(spec, `${kind}.${version}.spec`),
      status: kStatusSchema,
    },
  };
  if (kKinds[kind]!.specRequired) root['required'] = ['spec'];
  const problems = structuralProblems(root, `${kind}.${version}`);
  if (problems.length > 0) fail(kind, `schema is not structural:\n  ${problems.join('\n  ')}`);
  return root;
}

/** The CustomResourceDefinition objects, in a stable order. */
export function buildCrds(): KubeSchema[] {
  return Object.keys(kKinds).map((kind) => {
    const info = kKinds[kind]!;
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: `${info.plural}.${AmbassadorGroup}`,
        labels: { 'app.kubernetes.io/name': 'legate', 'app.kubernetes.io/component': 'crds' },
      },
      spec: {
        group: AmbassadorGroup,
        scope: 'Namespaced',
        names: {
          kind,
          listKind: `${kind}List`,
          plural: info.plural,
          singular: kind.toLowerCase(),
          categories: ['ambassador-crds'],
        },
        // No webhook: each version is stored as written (see deploy/README.md).
        conversion: { strategy: 'None' },
        versions: kCrdVersions.map((version) => ({
          name: version,
          served: true,
          storage: version === kStorageVersion,
          ...(version === kStorageVersion
            ? {}
            : {
                deprecated: true,
                deprecationWarning: `${AmbassadorGroup}/${version} ${kind} is stored as written, not converted; use ${AmbassadorGroup}/${kStorageVersion}`,
              }),
          schema: { openAPIV3Schema: versionSchema(kind, version) },
          subresources: { status: {} },
          additionalPrinterColumns: info.columns(version),
        })),
      },
    };
  });
}

const kHeader =
  '# Generated by scripts/gen-crds.ts from src/resources/schemas (npm run gen:crds). Do not edit.\n';

/** The file contents: one YAML document per CRD (YAML 1.1 quoting, as Kubernetes reads it). */
export function renderCrds(): string {
  return (
    kHeader +
    buildCrds()
      .map((crd) => `---\n${stringify(crd, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false })}`)
      .join('')
  );
}

function main(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const text = renderCrds();
  for (const rel of kCrdPaths) {
    writeFileSync(join(root, rel), text);
    console.log(`wrote ${rel}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
