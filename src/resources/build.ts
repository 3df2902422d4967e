/**
 * The resources stage: every source's objects → one typed, normalised `ResourceSet`, with a status
 * for every object seen. Called by the control loop on each change and by `legate validate`.
 *
 * Contract:
 * - Pure and deterministic: same snapshots in, same set out. No I/O. Never throws: anything
 *   unexpected while reading one object becomes a critical condition on that object alone.
 * - Per object: outer shape (apiVersion, kind, metadata; flat layout folded) → `ambassador_id`
 *   filter (Ignored, not an error) → validation against the schema of its version (precise field
 *   errors reject the object) → conversion to the newest shape → identity check (the later of two
 *   objects with one identity is rejected with `DuplicateName`).
 * - Service (and Ingress) `getambassador.io/config` annotations are expanded in place: embedded
 *   objects follow their parent in `statuses`, inherit its namespace and labels when they have none,
 *   and carry `location.parent` = the parent's key.
 * - Keys: `Kind/namespace/name`. When several objects share an identity, the one in use keeps the
 *   plain key and the others get `#2`, `#3`… in input order, so every status row has its own key.
 * - Inputs are never modified (the file source keeps them as "last good" objects).
 */
import type { TSchema } from '@sinclair/typebox';
import { formatLocation, type ResourceLocation, resourceKey } from './key.js';
import { expandAnnotation, kConfigAnnotation } from './normalize/annotation.js';
import {
  bracketIndexes,
  checkIngressSpec,
  isOurController,
  type KnownClass,
  kAmbassadorIdAnnotation,
  kDefaultClassAnnotation,
  kIngressClassAnnotation,
  selectIngressClass,
} from './normalize/ingress.js';
import {
  ambassadorIdMatches,
  foldFlat,
  isFlatLayout,
  parseApiVersion,
  readAmbassadorId,
} from './normalize/layout.js';
import { convertMappingV0, convertMappingV2, convertModule, prepareSpec } from './normalize/mapping.js';
import type { EndpointSliceSpec, ServiceSpec } from './schemas/core/types.js';
import type { MappingSpec } from './schemas/getambassador.io/mapping.js';
import type { MappingV0Spec, MappingV2Spec } from './schemas/getambassador.io/mapping-v2.js';
import {
  AmbassadorGroup,
  kAmbassadorKindsNotServed,
  kAmbassadorSchemas,
  kCoreSchemas,
  kKubernetesKindsNotServed,
  MappingSpec as MappingSpecSchema,
} from './schemas/index.js';
import type { IngressClassSpec, IngressSpec } from './schemas/networking.k8s.io/ingress.js';
import { validateValue } from './schemas/validate.js';
import {
  type Condition,
  type EndpointSliceResource,
  type IngressClassResource,
  type IngressClassSelection,
  type IngressResource,
  type MappingResource,
  type ModuleResource,
  Reason,
  type ResourceSet,
  ResourceState,
  type ResourceStatus,
  type ServiceResource,
  type SourceObject,
  type SourceProblem,
  type SourceSnapshot,
} from './types.js';

export interface BuildOptions {
  /** This gateway's id (`--ambassador-id`, `AMBASSADOR_ID`); objects for other ids are ignored. */
  readonly ambassadorId: string;
  /** Namespace given to objects that name none (the gateway's own namespace); default `default`. */
  readonly namespace?: string;
}

const kUnnamed = '<unnamed>';
const kServiceNameLabel = 'kubernetes.io/service-name';
/** Top-level keys a Kubernetes-layout object may carry. */
const kTopLevel = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

type Payload =
  | { readonly list: 'mappings'; readonly spec: MappingSpec }
  | { readonly list: 'modules'; readonly spec: ModuleResource['spec'] }
  | { readonly list: 'services'; readonly spec: ServiceSpec }
  | { readonly list: 'endpointSlices'; readonly spec: EndpointSliceSpec; readonly serviceName: string }
  | {
      readonly list: 'ingresses';
      readonly spec: IngressSpec;
      readonly classAnnotation: unknown;
      readonly creationTimestamp: string | undefined;
      /** Validation findings, recorded only if class selection finds the Ingress is ours. */
      readonly errors: readonly Condition[];
      /** Set by the class-selection pass in `finish()`. */
      selection?: IngressClassSelection;
    }
  | { readonly list: 'ingressClasses'; readonly spec: IngressClassSpec; readonly isDefault: boolean };

/** One object being read. Mutable while the build runs; frozen into plain data at the end. */
interface Entry {
  /** `Kind/namespace/name` without disambiguation; `File/<path>` for unparsable files. */
  identity: string;
  key: string;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  location: ResourceLocation;
  parent: Entry | undefined;
  labels: Record<string, string>;
  generation: number | undefined;
  conditions: Condition[];
  ignored: boolean;
  payload: Payload | undefined;
}

interface ParentContext {
  readonly entry: Entry;
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

export function buildResourceSet(
  snapshots: readonly SourceSnapshot[],
  opts: { ambassadorId: string; namespace?: string },
): ResourceSet {
  const b = new Builder({ ambassadorId: opts.ambassadorId, namespace: opts.namespace ?? 'default' });
  for (const snap of snapshots) {
    for (const problem of snap.problems ?? []) b.fileProblem(problem);
    for (const obj of snap.objects ?? []) b.object(obj, undefined);
  }
  return b.finish();
}

class Builder {
  private readonly entries: Entry[] = [];
  /** identity → first entry in use with it. */
  private readonly claimed = new Map<string, Entry>();
  private ambassadorModule: Entry | undefined;
  /** IngressClass name → what class selection needs to know (filled while reading). */
  private readonly ingressClasses = new Map<string, KnownClass>();

  constructor(private readonly opts: Required<BuildOptions>) {}

  fileProblem(problem: SourceProblem): void {
    const file = problem.location?.file ?? problem.location?.source ?? 'unknown';
    const e = this.entry({
      identity: `File/${file}`,
      kind: 'File',
      apiVersion: '',
      namespace: '',
      name: file,
      location: problem.location ?? { source: 'unknown' },
      parent: undefined,
    });
    e.conditions.push({ reason: Reason.ParseError, message: String(problem.message), critical: true });
  }

  object(input: SourceObject, parent: ParentContext | undefined): void {
    const location: ResourceLocation = input?.location ?? { source: 'unknown' };
    const before = this.entries.length;
    try {
      this.read(input?.object, location, parent);
    } catch (err) {
      const e =
        this.entries[before] ??
        this.entry({
          identity: `Unknown/${location.file ?? location.source}#${location.docIndex ?? 0}`,
          kind: 'Unknown',
          apiVersion: '',
          namespace: '',
          name: kUnnamed,
          location,
          parent: parent?.entry,
        });
      if (this.claimed.get(e.identity) === e) this.claimed.delete(e.identity);
      if (this.ambassadorModule === e) this.ambassadorModule = undefined;
      e.payload = undefined;
      e.conditions.push({
        reason: Reason.InvalidField,
        critical: true,
        message: `could not be read: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  private entry(
    init: Pick<Entry, 'identity' | 'kind' | 'apiVersion' | 'namespace' | 'name' | 'location' | 'parent'>,
  ): Entry {
    const e: Entry = {
      identity: init.identity,
      key: init.identity,
      kind: init.kind,
      apiVersion: init.apiVersion,
      namespace: init.namespace,
      name: init.name,
      location: init.location,
      parent: init.parent,
      labels: {},
      generation: undefined,
      conditions: [],
      ignored: false,
      payload: undefined,
    };
    this.entries.push(e);
    return e;
  }

  /** Reads one object; returns its entry (already pushed). */
  private read(raw: unknown, location: ResourceLocation, parent: ParentContext | undefined): Entry {
    let obj = raw as Record<string, unknown>;
    const plain = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
    const apiVersion = plain && typeof obj['apiVersion'] === 'string' ? (obj['apiVersion'] as string) : '';
    const kind =
      plain && typeof obj['kind'] === 'string' && obj['kind'] !== '' ? (obj['kind'] as string) : '';
    const { group, version } = parseApiVersion(apiVersion);

    // Flat Ambassador layout (annotations, old ambassador-config directories) → Kubernetes layout.
    if (plain && group === AmbassadorGroup && isFlatLayout(obj)) {
      const folded = foldFlat(obj, location.fieldLines);
      obj = folded.object;
      location = folded.fieldLines ? { ...location, fieldLines: folded.fieldLines } : location;
    }

    const metadata =
      plain && isRecord(obj['metadata']) ? (obj['metadata'] as Record<string, unknown>) : undefined;
    const rawName = metadata?.['name'];
    const name = typeof rawName === 'string' && rawName !== '' ? rawName : kUnnamed;
    const rawNs = metadata?.['namespace'];
    // IngressClass is cluster-scoped: its key has an empty namespace (`IngressClass//name`).
    const namespace =
      kind === 'IngressClass' && !parent
        ? ''
        : typeof rawNs === 'string' && rawNs !== ''
          ? rawNs
          : (parent?.namespace ?? this.opts.namespace);
    const shownKind = kind || 'Unknown';
    const e = this.entry({
      identity: resourceKey({ kind: shownKind, namespace, name }),
      kind: shownKind,
      apiVersion,
      namespace,
      name,
      location,
      parent: parent?.entry,
    });
    const reject = (reason: Reason, field: string | undefined, message: string): Entry => {
      e.conditions.push(
        field === undefined
          ? { reason, message, critical: true }
          : { reason, field, message, critical: true },
      );
      return e;
    };

    if (!plain)
      return reject(Reason.InvalidField, undefined, 'is not a mapping (expected a Kubernetes-style object)');
    if (!apiVersion) {
      return typeof obj['apiVersion'] === 'undefined'
        ? reject(Reason.MissingField, 'apiVersion', 'required field "apiVersion" is missing')
        : reject(Reason.InvalidField, 'apiVersion', 'must be a non-empty string');
    }
    if (!kind) {
      return typeof obj['kind'] === 'undefined'
        ? reject(Reason.MissingField, 'kind', 'required field "kind" is missing')
        : reject(Reason.InvalidField, 'kind', 'must be a non-empty string');
    }

    // Kinds nobody here serves are a note, not an error, and are not checked further.
    const ambassadorKind = group === AmbassadorGroup;
    if (parent && !ambassadorKind) {
      e.ignored = true;
      e.conditions.push({
        reason: Reason.UnknownKind,
        critical: false,
        message: `${apiVersion} ${kind} in an annotation is ignored: annotations hold getambassador.io objects only`,
      });
      return e;
    }
    const served = ambassadorKind
      ? kind in kAmbassadorSchemas
      : `${apiVersion} ${kind}` in kCoreSchemas || kind === 'Ingress';
    if (!served) {
      const notYet = ambassadorKind
        ? kAmbassadorKindsNotServed.has(kind)
        : kKubernetesKindsNotServed.has(kind);
      e.ignored = true;
      e.conditions.push({
        reason: Reason.UnknownKind,
        critical: false,
        message: notYet
          ? `${kind} (${apiVersion}) is not served by Legate yet; ignored`
          : `${apiVersion} ${kind} is not a kind Legate reads; ignored`,
      });
      return e;
    }

    // Metadata: the parts every kind relies on.
    if (metadata === undefined) {
      return 'metadata' in obj
        ? reject(Reason.InvalidField, 'metadata', 'must be a mapping')
        : reject(Reason.MissingField, 'metadata', 'required field "metadata" is missing');
    }
    if (name === kUnnamed) {
      return rawName === undefined
        ? reject(Reason.MissingField, 'metadata.name', 'required field "name" is missing')
        : reject(Reason.InvalidField, 'metadata.name', 'must be a non-empty string');
    }
    if (rawNs !== undefined && (typeof rawNs !== 'string' || rawNs === '')) {
      return reject(Reason.InvalidField, 'metadata.namespace', 'must be a non-empty string');
    }
    const labels = metadata['labels'];
    if (labels !== undefined && labels !== null) {
      if (!isRecord(labels))
        return reject(Reason.InvalidField, 'metadata.labels', 'must be a map of strings');
      for (const [k, v] of Object.entries(labels)) {
        if (typeof v !== 'string') {
          return reject(
            Reason.InvalidField,
            `metadata.labels.${k}`,
            `must be a string (got ${JSON.stringify(v)})`,
          );
        }
      }
      e.labels = { ...(labels as Record<string, string>) };
    } else if (parent) {
      e.labels = { ...parent.labels };
    }
    if (typeof metadata['generation'] === 'number') e.generation = metadata['generation'];

    if (kind === 'Ingress' && apiVersion === 'networking.k8s.io/v1') {
      this.readIngress(e, obj, metadata);
      this.expand(e, metadata, namespace);
      return e;
    }
    if (kind === 'IngressClass') return this.readIngressClass(e, obj, metadata);
    if (kind === 'Ingress') {
      // Older Ingress versions are served only for their annotation.
      e.ignored = true;
      e.conditions.push({
        reason: Reason.UnknownKind,
        critical: false,
        message: `Ingress ${apiVersion} is not served (only networking.k8s.io/v1); only its getambassador.io/config annotation is read`,
      });
      this.expand(e, metadata, namespace);
      return e;
    }

    if (ambassadorKind) return this.readAmbassador(e, obj, kind, version);

    if (kind === 'Service') {
      const spec = obj['spec'] ?? {};
      const errors = validateValue(kCoreSchemas[`${apiVersion} ${kind}`], spec, 'spec');
      if (errors.length > 0) return pushAll(e, errors);
      this.accept(e, { list: 'services', spec: spec as ServiceSpec });
      this.expand(e, metadata, namespace);
      return e;
    }

    // EndpointSlice: its fields sit at the top level; `endpoints` may be null when empty.
    const serviceName = e.labels[kServiceNameLabel];
    if (!serviceName) {
      return reject(
        Reason.MissingField,
        `metadata.labels.${kServiceNameLabel}`,
        `required label "${kServiceNameLabel}" is missing (it names the Service this slice belongs to)`,
      );
    }
    const body: Record<string, unknown> = {
      addressType: obj['addressType'],
      endpoints: obj['endpoints'] ?? [],
    };
    if (obj['ports'] !== undefined && obj['ports'] !== null) body['ports'] = obj['ports'];
    if (body['addressType'] === undefined)
      return reject(Reason.MissingField, 'addressType', 'required field "addressType" is missing');
    const errors = validateValue(kCoreSchemas[`${apiVersion} ${kind}`], body, '');
    if (errors.length > 0) return pushAll(e, errors);
    this.accept(e, { list: 'endpointSlices', spec: body as EndpointSliceSpec, serviceName });
    return e;
  }

  private readAmbassador(e: Entry, obj: Record<string, unknown>, kind: string, version: string): Entry {
    for (const k of Object.keys(obj)) {
      if (!kTopLevel.has(k)) {
        e.conditions.push({
          reason: Reason.UnknownField,
          field: k,
          critical: true,
          message: `unknown top-level field "${k}" (fields of a ${kind} go under spec)`,
        });
      }
    }
    if (e.conditions.length > 0) return e;
    const schema: TSchema | undefined = kAmbassadorSchemas[kind][version];
    if (schema === undefined) {
      e.conditions.push({
        reason: Reason.UnsupportedVersion,
        field: 'apiVersion',
        critical: true,
        message: `${kind} is read as getambassador.io v3alpha1, v2, v1 or ambassador/v0, not ${e.apiVersion}`,
      });
      return e;
    }
    if (!('spec' in obj)) {
      e.conditions.push({
        reason: Reason.MissingField,
        field: 'spec',
        critical: true,
        message: 'required field "spec" is missing',
      });
      return e;
    }

    const ids = readAmbassadorId(obj['spec']);
    if (ids !== undefined && !ambassadorIdMatches(ids, this.opts.ambassadorId)) {
      e.ignored = true;
      e.conditions.push({
        reason: Reason.AmbassadorIdMismatch,
        critical: false,
        message: `ambassador_id ${JSON.stringify(ids)} does not include this gateway's id "${this.opts.ambassadorId}"; ignored`,
      });
      return e;
    }

    const prepared = prepareSpec(kind, version, obj['spec']);
    const errors = validateValue(schema, prepared.spec, 'spec');
    if (errors.length > 0) return pushAll(e, errors);
    pushAll(e, prepared.notes);

    if (kind === 'Module') {
      const spec = convertModule(prepared.spec as Parameters<typeof convertModule>[0]);
      if (e.name !== 'ambassador') {
        e.conditions.push({
          reason: Reason.ModuleConflict,
          critical: true,
          message: `only the Module named "ambassador" is read; "${e.name}" is left out`,
        });
        return e;
      }
      if (this.ambassadorModule) {
        e.conditions.push({
          reason: Reason.ModuleConflict,
          critical: true,
          message: `a Module "ambassador" is already defined at ${formatLocation(this.ambassadorModule.location)} (${this.ambassadorModule.identity}); this one is left out`,
        });
        return e;
      }
      if (this.accept(e, { list: 'modules', spec })) this.ambassadorModule = e;
      return e;
    }

    let converted: { spec: MappingSpec; notes: Condition[] };
    if (version === 'v3alpha1') converted = { spec: prepared.spec as MappingSpec, notes: [] };
    else if (version === 'v0') converted = convertMappingV0(prepared.spec as MappingV0Spec);
    else converted = convertMappingV2(prepared.spec as MappingV2Spec);
    pushAll(e, converted.notes);
    if (version !== 'v3alpha1') {
      // Safety net: a conversion must always produce a valid v3alpha1 spec.
      const after = validateValue(MappingSpecSchema, converted.spec, 'spec');
      if (after.length > 0) {
        for (const c of after)
          e.conditions.push({ ...c, message: `after conversion to v3alpha1: ${c.message}` });
        return e;
      }
    }
    this.accept(e, { list: 'mappings', spec: converted.spec });
    return e;
  }

  /**
   * networking.k8s.io/v1 Ingress: ambassador-id annotation → schema → API-server checks. Whether
   * it is this gateway's (class selection) is decided in `finish()`, once every IngressClass is
   * known; validation findings count only then, so another controller's Ingress is never Rejected.
   */
  private readIngress(e: Entry, obj: Record<string, unknown>, metadata: Record<string, unknown>): void {
    const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
    if (this.ignoredById(e, annotations)) return;
    const spec = isRecord(obj['spec']) ? obj['spec'] : {};
    let errors = validateValue(kCoreSchemas['networking.k8s.io/v1 Ingress'], spec, 'spec').map((c) =>
      c.field ? { ...c, field: bracketIndexes(c.field) } : c,
    );
    if (errors.length === 0) errors = checkIngressSpec(spec as IngressSpec);
    const ts = metadata['creationTimestamp'];
    const className = spec['ingressClassName'];
    this.accept(e, {
      list: 'ingresses',
      spec: (typeof className === 'string' || className === undefined
        ? spec
        : { ...spec, ingressClassName: undefined }) as IngressSpec,
      classAnnotation: annotations[kIngressClassAnnotation],
      creationTimestamp: typeof ts === 'string' ? ts : ts instanceof Date ? ts.toISOString() : undefined,
      errors,
    });
  }

  /** IngressClass: ours when its controller is Legate's or Emissary's and the ambassador id matches. */
  private readIngressClass(e: Entry, obj: Record<string, unknown>, metadata: Record<string, unknown>): Entry {
    const spec = obj['spec'] ?? {};
    const errors = validateValue(kCoreSchemas['networking.k8s.io/v1 IngressClass'], spec, 'spec');
    if (errors.length > 0) return pushAll(e, errors);
    const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
    const isDefault = annotations[kDefaultClassAnnotation] === 'true';
    const controller = (spec as IngressClassSpec).controller;
    if (!isOurController(controller)) {
      const why = `IngressClass "${e.name}" belongs to controller ${JSON.stringify(controller ?? '')}, not Legate`;
      this.ingressClasses.set(e.name, { ours: false, isDefault, why });
      e.ignored = true;
      e.conditions.push({ reason: Reason.IngressClassMismatch, critical: false, message: `${why}; ignored` });
      return e;
    }
    if (this.ignoredById(e, annotations)) {
      this.ingressClasses.set(e.name, {
        ours: false,
        isDefault,
        why: `IngressClass "${e.name}" is for another ambassador id (${kAmbassadorIdAnnotation})`,
      });
      return e;
    }
    if (this.accept(e, { list: 'ingressClasses', spec: spec as IngressClassSpec, isDefault }))
      this.ingressClasses.set(e.name, { ours: true, isDefault });
    return e;
  }

  /** Emissary's per-object `getambassador.io/ambassador-id` annotation (default "default"). */
  private ignoredById(e: Entry, annotations: Record<string, unknown>): boolean {
    const raw = annotations[kAmbassadorIdAnnotation];
    const id = typeof raw === 'string' && raw !== '' ? raw : 'default';
    if (ambassadorIdMatches([id], this.opts.ambassadorId)) return false;
    e.ignored = true;
    e.conditions.push({
      reason: Reason.AmbassadorIdMismatch,
      field: `metadata.annotations.${kAmbassadorIdAnnotation}`,
      critical: false,
      message: `ambassador id "${id}" is not this gateway's id "${this.opts.ambassadorId}"; ignored`,
    });
    return true;
  }

  /** Class selection for every Ingress read (see `normalize/ingress.ts`); not ours → Ignored. */
  private selectIngresses(): void {
    for (const e of this.entries) {
      const p = e.payload;
      if (p?.list !== 'ingresses' || e.ignored || isCritical(e)) continue;
      const d = selectIngressClass({
        ingressClassName: p.spec.ingressClassName,
        annotation: p.classAnnotation,
        classes: this.ingressClasses,
      });
      if (d.ours) {
        p.selection = { via: d.via, name: d.name };
        pushAll(e, p.errors);
      } else {
        e.ignored = true;
        e.conditions.push({
          reason: Reason.IngressClassMismatch,
          critical: false,
          message: d.message,
          ...(p.spec.ingressClassName !== undefined ? { field: 'spec.ingressClassName' } : {}),
        });
      }
    }
  }

  /** Marks `e` in use unless another object holds its identity. Returns whether it was accepted. */
  private accept(e: Entry, payload: Payload): boolean {
    const first = this.claimed.get(e.identity);
    if (first) {
      e.conditions.push({
        reason: Reason.DuplicateName,
        critical: true,
        message: `${e.identity} is already defined at ${formatLocation(first.location)}; this one is left out`,
      });
      return false;
    }
    this.claimed.set(e.identity, e);
    e.payload = payload;
    return true;
  }

  /** Reads the `getambassador.io/config` annotation of `e` (a Service or Ingress), if any. */
  private expand(e: Entry, metadata: Record<string, unknown> | undefined, namespace: string): void {
    const annotations = metadata?.['annotations'];
    if (!isRecord(annotations) || !(kConfigAnnotation in annotations)) return;
    const text = annotations[kConfigAnnotation];
    const field = `metadata.annotations.${kConfigAnnotation}`;
    if (typeof text !== 'string') {
      e.conditions.push({
        reason: Reason.AnnotationParseError,
        field,
        critical: false,
        message: 'must be a string holding YAML',
      });
      return;
    }
    const result = expandAnnotation(text, e.location);
    for (const message of result.problems) {
      e.conditions.push({ reason: Reason.AnnotationParseError, field, critical: false, message });
    }
    const parent: ParentContext = { entry: e, namespace, labels: e.labels };
    for (const child of result.objects) this.object(child, parent);
  }

  finish(): ResourceSet {
    this.selectIngresses();
    // Keys: the entry in use keeps the plain identity, the others get #2, #3… in input order.
    const groups = new Map<string, Entry[]>();
    for (const e of this.entries) {
      const g = groups.get(e.identity);
      if (g) g.push(e);
      else groups.set(e.identity, [e]);
    }
    for (const [identity, group] of groups) {
      if (group.length === 1) continue;
      const winner = group.find((x) => x.payload !== undefined && !isCritical(x)) ?? group[0];
      let n = 2;
      for (const x of group) x.key = x === winner ? identity : `${identity}#${n++}`;
    }

    const mappings: MappingResource[] = [];
    const modules: ModuleResource[] = [];
    const services: ServiceResource[] = [];
    const endpointSlices: EndpointSliceResource[] = [];
    const ingresses: IngressResource[] = [];
    const ingressClasses: IngressClassResource[] = [];
    const statuses: ResourceStatus[] = [];
    for (const e of this.entries) {
      const location = e.parent ? { ...e.location, parent: e.parent.key } : e.location;
      const critical = isCritical(e);
      const state = critical
        ? ResourceState.Rejected
        : e.ignored
          ? ResourceState.Ignored
          : e.conditions.length > 0
            ? ResourceState.Warning
            : ResourceState.Accepted;
      statuses.push({
        key: e.key,
        kind: e.kind,
        apiVersion: e.apiVersion,
        namespace: e.namespace,
        name: e.name,
        location,
        state,
        conditions: e.conditions,
      });
      if (critical || e.ignored || !e.payload) continue;
      const p = e.payload;
      // The fields every resource carries; `generation` only when the object has one.
      const meta = {
        key: e.key,
        apiVersion: e.apiVersion,
        name: e.name,
        namespace: e.namespace,
        labels: e.labels,
        location,
        ...(e.generation === undefined ? {} : { generation: e.generation }),
      };
      if (p.list === 'mappings') {
        mappings.push({ ...meta, kind: 'Mapping', spec: p.spec });
      } else if (p.list === 'modules') {
        modules.push({ ...meta, kind: 'Module', spec: p.spec });
      } else if (p.list === 'services') {
        services.push({ ...meta, kind: 'Service', spec: p.spec });
      } else if (p.list === 'ingresses') {
        if (!p.selection) continue;
        ingresses.push({
          ...meta,
          kind: 'Ingress',
          spec: p.spec,
          ingressClass: p.selection,
          ...(p.creationTimestamp !== undefined ? { creationTimestamp: p.creationTimestamp } : {}),
        });
      } else if (p.list === 'ingressClasses') {
        ingressClasses.push({ ...meta, kind: 'IngressClass', spec: p.spec, isDefault: p.isDefault });
      } else {
        endpointSlices.push({ ...meta, kind: 'EndpointSlice', serviceName: p.serviceName, spec: p.spec });
      }
    }
    return { mappings, modules, services, endpointSlices, ingresses, ingressClasses, statuses };
  }
}

function isCritical(e: Entry): boolean {
  for (const c of e.conditions) if (c.critical) return true;
  return false;
}

function pushAll(e: Entry, conditions: readonly Condition[]): Entry {
  for (const c of conditions) e.conditions.push(c);
  return e;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Options for `formatProblems`. */
export interface FormatOptions {
  /** Also list notes on ignored objects (unknown kinds, other ambassador_id). Default false. */
  readonly includeIgnored?: boolean;
}

/**
 * One line per problem: `file:line kind/namespace/name field: message` (the key stands for
 * kind/namespace/name). Rejected and warning objects are listed; ignored ones only on request.
 */
export function formatProblems(statuses: readonly ResourceStatus[], opts: FormatOptions = {}): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    if (s.state === ResourceState.Accepted) continue;
    if (s.state === ResourceState.Ignored && !opts.includeIgnored) continue;
    for (const c of s.conditions) {
      const where = formatLocation(s.location, c.field);
      lines.push(c.field ? `${where} ${s.key} ${c.field}: ${c.message}` : `${where} ${s.key}: ${c.message}`);
    }
  }
  return lines;
}

/** True when any object is left out (a critical condition anywhere). */
export function hasCriticalProblems(statuses: readonly ResourceStatus[]): boolean {
  for (const s of statuses) {
    if (s.state === ResourceState.Rejected) return true;
    for (const c of s.conditions) if (c.critical) return true;
  }
  return false;
}
