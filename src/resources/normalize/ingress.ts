/**
 * networking.k8s.io/v1 Ingress and IngressClass in the resources stage: the controller constants,
 * the checks the API server would have made (objects from files never passed through it), and
 * class selection — which Ingresses are this gateway's. Called by `resources/build.ts`. Pure.
 *
 * Class selection (decided here, not in the IR, because "is this object for this gateway" is the
 * same question as ambassador_id filtering, and the answer is an Ignored state, not a warning):
 * an Ingress is Legate's when ANY of these holds (Emissary's rule is the same OR, so existing
 * installs switch over unchanged):
 * - `spec.ingressClassName` names an IngressClass whose `spec.controller` is Legate's or
 *   Emissary's (case-insensitive) and whose `getambassador.io/ambassador-id` annotation (default
 *   "default") matches this gateway's id;
 * - the legacy annotation `kubernetes.io/ingress.class` is `ambassador` or `legate`
 *   (case-insensitive);
 * - it has neither, and one of our IngressClasses carries
 *   `ingressclass.kubernetes.io/is-default-class: "true"` (the DefaultIngressClass admission
 *   plugin fills the class in on new objects; this covers older ones and files).
 * The Ingress's own `getambassador.io/ambassador-id` annotation is honoured as Emissary does.
 */
import type { Condition } from '../types.js';
import { Reason } from '../types.js';

/** Legate's own IngressClass controller string. The one place it is spelled. */
export const kLegateIngressController = 'legate.dev/ingress-controller';
/** Emissary's controller string: IngressClasses made for Emissary are served as they are. */
export const kEmissaryIngressController = 'getambassador.io/ingress-controller';
export const kIngressControllers: readonly string[] = [kLegateIngressController, kEmissaryIngressController];

export const kIngressClassAnnotation = 'kubernetes.io/ingress.class';
export const kDefaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
export const kAmbassadorIdAnnotation = 'getambassador.io/ambassador-id';
/** Values of the legacy class annotation that mean "this gateway" (compared lower-case). */
export const kLegacyClassValues: readonly string[] = ['ambassador', 'legate'];

export function isOurController(controller: unknown): boolean {
  return typeof controller === 'string' && kIngressControllers.includes(controller.toLowerCase());
}

/** What class selection knows about one IngressClass name. */
export interface KnownClass {
  /** Ours and for this gateway's ambassador id. */
  readonly ours: boolean;
  readonly isDefault: boolean;
  /** Why it is not ours (shown on Ingresses that name it). */
  readonly why?: string;
}

export type ClassDecision =
  | {
      readonly ours: true;
      readonly via: 'ingressClassName' | 'annotation' | 'default';
      readonly name: string;
    }
  | { readonly ours: false; readonly message: string };

export function selectIngressClass(opts: {
  readonly ingressClassName: string | undefined;
  /** The legacy annotation's value; undefined when the annotation is absent. */
  readonly annotation: unknown;
  readonly classes: ReadonlyMap<string, KnownClass>;
}): ClassDecision {
  const { ingressClassName, annotation, classes } = opts;
  if (typeof annotation === 'string' && kLegacyClassValues.includes(annotation.toLowerCase()))
    return { ours: true, via: 'annotation', name: annotation };
  if (ingressClassName !== undefined) {
    const c = classes.get(ingressClassName);
    if (c?.ours) return { ours: true, via: 'ingressClassName', name: ingressClassName };
    return {
      ours: false,
      message: c
        ? `ingressClassName "${ingressClassName}": ${c.why}; ignored`
        : `ingressClassName "${ingressClassName}" names no IngressClass with controller ${kLegateIngressController} or ${kEmissaryIngressController}; ignored`,
    };
  }
  if (annotation !== undefined)
    return {
      ours: false,
      message: `${kIngressClassAnnotation} is ${JSON.stringify(annotation)}; Legate serves ${kLegacyClassValues.map((v) => `"${v}"`).join(' and ')}; ignored`,
    };
  const defaults = [...classes].filter(([, c]) => c.ours && c.isDefault).map(([n]) => n);
  if (defaults.length > 0) return { ours: true, via: 'default', name: defaults.sort()[0] };
  return {
    ours: false,
    message: `no ingressClassName, no ${kIngressClassAnnotation} annotation, and no IngressClass of Legate's is marked default (${kDefaultClassAnnotation}: "true"); ignored`,
  };
}

/** `spec.rules.0.http` (TypeBox paths) → `spec.rules[0].http` (how Kubernetes names fields). */
export function bracketIndexes(field: string): string {
  return field.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

const kLabel = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const kHostRe = new RegExp(`^(\\*\\.)?${kLabel}(\\.${kLabel})*$`);
const kIpv4Re = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The API server's checks on the fields Legate uses (after the schema passed). Every finding is
 * critical: the API server would have refused the whole object, so a file holding it is treated
 * the same way. Field names use Kubernetes' `[i]` form.
 */
export function checkIngressSpec(spec: {
  readonly defaultBackend?: BackendLike;
  readonly rules?: readonly {
    readonly host?: string;
    readonly http?: { readonly paths: readonly { path?: string; pathType: string; backend: BackendLike }[] };
  }[];
}): Condition[] {
  const out: Condition[] = [];
  const bad = (field: string, message: string) =>
    out.push({ reason: Reason.InvalidField, field, message, critical: true });
  if (spec.defaultBackend) checkBackend(spec.defaultBackend, 'spec.defaultBackend', bad);
  const rules = spec.rules ?? [];
  if (rules.length === 0 && !spec.defaultBackend)
    out.push({
      reason: Reason.MissingField,
      field: 'spec.rules',
      message: 'an Ingress needs rules or a defaultBackend (the API server refuses one with neither)',
      critical: true,
    });
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const base = `spec.rules[${i}]`;
    if (r.host !== undefined && r.host !== '') {
      if (kIpv4Re.test(r.host) || r.host.includes(':'))
        bad(`${base}.host`, `must be a DNS name, not an IP address or host:port (got "${r.host}")`);
      else if (!kHostRe.test(r.host))
        bad(`${base}.host`, `must be a lower-case DNS name, optionally starting with "*." (got "${r.host}")`);
    }
    const paths = r.http?.paths ?? [];
    for (let j = 0; j < paths.length; j++) {
      const p = paths[j];
      const pb = `${base}.http.paths[${j}]`;
      checkPath(p.path, p.pathType, `${pb}.path`, bad);
      checkBackend(p.backend, `${pb}.backend`, bad);
    }
  }
  return out;
}

interface BackendLike {
  readonly service?: { readonly port: { readonly name?: string; readonly number?: number } };
  readonly resource?: unknown;
}

function checkBackend(b: BackendLike, base: string, bad: (f: string, m: string) => void): void {
  if ((b.service === undefined) === (b.resource === undefined)) {
    bad(base, 'must set exactly one of service and resource');
    return;
  }
  if (b.service) {
    const port = b.service.port;
    if ((port.name === undefined) === (port.number === undefined))
      bad(`${base}.service.port`, 'must set exactly one of name and number');
  }
}

function checkPath(
  path: string | undefined,
  pathType: string,
  field: string,
  bad: (f: string, m: string) => void,
): void {
  if (path === undefined || path === '') {
    if (pathType !== 'ImplementationSpecific') bad(field, `is required for pathType ${pathType}`);
    return;
  }
  if (!path.startsWith('/')) {
    bad(field, `must be an absolute path starting with "/" (got "${path}")`);
    return;
  }
  if (pathType === 'ImplementationSpecific') return;
  const seq = ['//', '/./', '/../', '%2f', '%2F'].find((x) => path.includes(x));
  if (seq !== undefined) bad(field, `must not contain "${seq}" (got "${path}")`);
  else if (path.endsWith('/..') || path.endsWith('/.'))
    bad(field, `must not end with "${path.endsWith('/..') ? '/..' : '/.'}" (got "${path}")`);
}
