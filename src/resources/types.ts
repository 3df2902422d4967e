/**
 * The shapes that cross stage boundaries below the sources.
 *
 * Sources hand over `SourceObject`s (a parsed Kubernetes-style object plus its location).
 * `resources/` turns the whole set into a `ResourceSet`: one typed, normalised entry per object it
 * understands, each with its key, and a `ResourceStatus` for every object (accepted, rejected,
 * ignored). Nothing here holds functions or class instances: everything is plain, serialisable data.
 */
import type { ResourceLocation } from './key.js';
import type { EndpointSliceSpec, ServiceSpec } from './schemas/core/types.js';
import type { MappingSpec } from './schemas/getambassador.io/mapping.js';
import type { ModuleSpec } from './schemas/getambassador.io/module.js';
import type { IngressClassSpec, IngressSpec } from './schemas/networking.k8s.io/ingress.js';

/** A parsed object exactly as a source read it (Kubernetes layout), with its location. */
export interface SourceObject {
  readonly object: unknown;
  readonly location: ResourceLocation;
}

/** A problem a source hit before it could hand objects over (a file that does not parse). */
export interface SourceProblem {
  readonly location: ResourceLocation;
  readonly message: string;
}

/** What a source publishes: the whole current set, never a diff. */
export interface SourceSnapshot {
  readonly source: string;
  readonly objects: readonly SourceObject[];
  readonly problems: readonly SourceProblem[];
  /**
   * Text each object was parsed from, by `location.file` (file sources only; for a broken file,
   * its last good contents). Lets field lines be worked out after the build for the few objects
   * with problems (`sources/file/field-lines.ts`) instead of for every object while parsing.
   */
  readonly texts?: Readonly<Record<string, string>>;
}

/** Condition reasons are CamelCase constants; each says what happened to the object. */
export const Reason = {
  /** The object is valid and in use. */
  Accepted: 'Accepted',
  /** Schema validation failed; the object is left out. */
  InvalidField: 'InvalidField',
  /** A required field is missing; the object is left out. */
  MissingField: 'MissingField',
  /** A field the kind does not have; the object is left out. */
  UnknownField: 'UnknownField',
  /** The kind is not one Legate serves; the object is ignored (a note, not an error). */
  UnknownKind: 'UnknownKind',
  /** The apiVersion is not one Legate reads for this kind; the object is left out. */
  UnsupportedVersion: 'UnsupportedVersion',
  /** `ambassador_id` does not include this gateway's id; the object is ignored. */
  AmbassadorIdMismatch: 'AmbassadorIdMismatch',
  /** An annotation value did not parse as YAML; every object in it is lost. */
  AnnotationParseError: 'AnnotationParseError',
  /** A file or document did not parse; its last good contents stay live. */
  ParseError: 'ParseError',
  /** Two objects claim the same identity; the later one is left out. */
  DuplicateName: 'DuplicateName',
  /** A regular expression does not compile. */
  InvalidRegex: 'InvalidRegex',
  /** Canary weights in one group add up to more than 100; the group is dropped. */
  WeightOverflow: 'WeightOverflow',
  /** Mappings in one canary group disagree on a field that must be equal. */
  GroupMismatch: 'GroupMismatch',
  /** `service` names a Service that does not exist (yet); the route answers 503. */
  ServiceNotFound: 'ServiceNotFound',
  /** `service` names a port the Service does not have. */
  ServicePortNotFound: 'ServicePortNotFound',
  /** The Service exists but has no ready endpoints (yet); the route answers 503. */
  NoEndpoints: 'NoEndpoints',
  /** The object was accepted but a field was ignored or adjusted; see the message. */
  Ignored: 'Ignored',
  /** A Module other than `ambassador`, or a second one; left out. */
  ModuleConflict: 'ModuleConflict',
  /** The object is valid but nothing routes to it (v3alpha1 Mapping without hostname). */
  NotServed: 'NotServed',
  /** An Ingress or IngressClass belongs to another controller (class not Legate's); ignored. */
  IngressClassMismatch: 'IngressClassMismatch',
  /** The object uses a feature Legate does not serve (yet); that part is left out, the rest is used. */
  Unsupported: 'Unsupported',
  /** An older object already serves exactly this route; this object's copy of it is not used. */
  RouteConflict: 'RouteConflict',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/**
 * One finding about one object. `critical: true` means the object is left out; `false` means it
 * is in use with a warning. Within one build, status only gets worse (a critical condition is never
 * cleared by a later processor).
 */
export interface Condition {
  readonly reason: Reason;
  readonly message: string;
  /** Dotted path of the offending field as written (`spec.weight`), when there is one. */
  readonly field?: string;
  readonly critical: boolean;
}

export const ResourceState = {
  /** In use, no findings. */
  Accepted: 'Accepted',
  /** In use, with non-critical findings. */
  Warning: 'Warning',
  /** Left out because of a critical finding. */
  Rejected: 'Rejected',
  /** Not meant for this gateway (unknown kind, other ambassador_id); not an error. */
  Ignored: 'Ignored',
} as const;
export type ResourceState = (typeof ResourceState)[keyof typeof ResourceState];

export interface ResourceStatus {
  readonly key: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly location: ResourceLocation;
  readonly state: ResourceState;
  readonly conditions: readonly Condition[];
}

/** Fields every normalised resource carries. */
export interface ResourceMeta {
  readonly key: string;
  readonly kind: string;
  /** apiVersion as written by the user, before normalisation. */
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly generation?: number;
  readonly location: ResourceLocation;
}

/** A Mapping in the newest (getambassador.io/v3alpha1) shape, whatever it was written as. */
export interface MappingResource extends ResourceMeta {
  readonly kind: 'Mapping';
  readonly spec: MappingSpec;
}

export interface ModuleResource extends ResourceMeta {
  readonly kind: 'Module';
  readonly spec: ModuleSpec;
}

export interface ServiceResource extends ResourceMeta {
  readonly kind: 'Service';
  readonly spec: ServiceSpec;
}

export interface EndpointSliceResource extends ResourceMeta {
  readonly kind: 'EndpointSlice';
  /** `kubernetes.io/service-name` label: the Service this slice belongs to. */
  readonly serviceName: string;
  readonly spec: EndpointSliceSpec;
}

/** How an Ingress was found to be Legate's (class selection, done by the resources stage). */
export interface IngressClassSelection {
  /** `ingressClassName` (naming one of our IngressClasses), the legacy annotation, or our default class. */
  readonly via: 'ingressClassName' | 'annotation' | 'default';
  /** The IngressClass name, or the annotation value. */
  readonly name: string;
}

/** A networking.k8s.io/v1 Ingress that is Legate's (other classes never reach the set). */
export interface IngressResource extends ResourceMeta {
  readonly kind: 'Ingress';
  readonly spec: IngressSpec;
  readonly ingressClass: IngressClassSelection;
  /** `metadata.creationTimestamp` as written (RFC 3339); absent for most file objects. */
  readonly creationTimestamp?: string;
}

/** A cluster-scoped IngressClass whose controller is Legate's (or Emissary's); namespace is ''. */
export interface IngressClassResource extends ResourceMeta {
  readonly kind: 'IngressClass';
  readonly spec: IngressClassSpec;
  /** `ingressclass.kubernetes.io/is-default-class: "true"`. */
  readonly isDefault: boolean;
}

/**
 * The whole, typed, normalised input of one IR build. Objects that failed validation are absent
 * from the typed lists but present in `statuses` with their conditions.
 */
export interface ResourceSet {
  readonly mappings: readonly MappingResource[];
  readonly modules: readonly ModuleResource[];
  readonly services: readonly ServiceResource[];
  readonly endpointSlices: readonly EndpointSliceResource[];
  /** Ingresses selected for this gateway by class (optional so hand-built sets may leave it out). */
  readonly ingresses?: readonly IngressResource[];
  /** IngressClasses of Legate's (or Emissary's) controller for this gateway's ambassador id. */
  readonly ingressClasses?: readonly IngressClassResource[];
  /** One entry per object seen (including rejected and ignored ones), in input order. */
  readonly statuses: readonly ResourceStatus[];
}
