import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseConfigText } from '../sources/file/parse.js';
import { buildResourceSet, formatProblems, hasCriticalProblems } from './build.js';
import type { ResourceSet } from './types.js';

function build(text: string, ambassadorId = 'default'): ResourceSet {
  const p = parseConfigText(text, 'cfg.yaml', 'file');
  return buildResourceSet([{ source: 'file', objects: p.objects, problems: p.problems }], { ambassadorId });
}
const state = (rs: ResourceSet) => Object.fromEntries(rs.statuses.map((s) => [s.key, s.state]));

test('v2 Mapping is normalised to v3alpha1; v3alpha1 is taken as written', () => {
  const rs = build(`
apiVersion: getambassador.io/v2
kind: Mapping
metadata: {name: a, labels: {team: x}}
spec: {prefix: /a/, service: a, v3StatsName: st, tls: true}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: b, namespace: ns}
spec: {prefix: /b/, service: b, hostname: foo.com}
`);
  assert.equal(rs.mappings.length, 2);
  const [a, b] = rs.mappings;
  assert.equal(a.key, 'Mapping/default/a');
  assert.equal(a.apiVersion, 'getambassador.io/v2');
  assert.deepEqual(a.labels, { team: 'x' });
  assert.deepEqual(a.spec, { prefix: '/a/', service: 'https://a', stats_name: 'st', hostname: '*' });
  assert.equal(b.key, 'Mapping/ns/b');
  assert.deepEqual(b.spec, { prefix: '/b/', service: 'b', hostname: 'foo.com' });
  assert.equal(hasCriticalProblems(rs.statuses), false);
});

test('service annotation, flat layout: namespace and labels from the Service, lines into the block', () => {
  const text = `apiVersion: v1
kind: Service
metadata:
  name: tour
  namespace: demo
  labels: {app: tour}
  annotations:
    getambassador.io/config: |
      ---
      apiVersion: ambassador/v1
      kind: Mapping
      name: tour-ui
      prefix: /
      service: tour:5000
      ---
      apiVersion: getambassador.io/v2
      kind: Mapping
      name: tour-backend
      namespace: other
      metadata_labels: {tier: backend}
      prefix: /backend/
      weight: 500
      service: tour:8080
spec:
  ports: [{port: 80}]
`;
  const rs = build(text);
  assert.deepEqual(state(rs), {
    'Service/demo/tour': 'Accepted',
    'Mapping/demo/tour-ui': 'Accepted',
    'Mapping/other/tour-backend': 'Rejected',
  });
  const ui = rs.mappings[0];
  assert.deepEqual(ui.labels, { app: 'tour' });
  assert.equal(ui.location.parent, 'Service/demo/tour');
  assert.equal(ui.location.file, 'cfg.yaml');
  assert.equal(ui.location.line, 10);
  assert.equal(ui.location.fieldLines?.['/spec/prefix'], 13);
  assert.equal(ui.location.fieldLines?.['/metadata/name'], 12);
  assert.deepEqual(ui.spec, { prefix: '/', service: 'tour:5000', hostname: '*' });
  const backend = rs.statuses[2];
  assert.deepEqual(formatProblems([backend]), [
    'cfg.yaml:22 Mapping/other/tour-backend spec.weight: must be an integer between 0 and 100 (got 500)',
  ]);
});

test('annotation with a YAML error: AnnotationParseError on the Service, which is still used', () => {
  const rs = build(`apiVersion: v1
kind: Service
metadata:
  name: s
  annotations:
    getambassador.io/config: "kind: [oops"
`);
  assert.equal(rs.services.length, 1);
  assert.equal(rs.mappings.length, 0);
  assert.equal(rs.statuses.length, 1);
  assert.equal(rs.statuses[0].state, 'Warning');
  assert.equal(rs.statuses[0].conditions[0].reason, 'AnnotationParseError');
  assert.equal(rs.statuses[0].conditions[0].critical, false);
});

test('annotation on an Ingress is read whatever its class; a class-less Ingress itself is ignored', () => {
  const rs = build(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing
  namespace: web
  annotations:
    getambassador.io/config: |
      apiVersion: getambassador.io/v3alpha1
      kind: Mapping
      metadata: {name: m}
      spec: {prefix: /, service: x, hostname: "*"}
`);
  assert.deepEqual(state(rs), { 'Ingress/web/ing': 'Ignored', 'Mapping/web/m': 'Accepted' });
});

test('ambassador_id filtering: default, string, list, _automatic_, ambassadorId synonym', () => {
  const m = (name: string, extra: string) =>
    `apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: ${name}}\nspec: {prefix: /, service: x${extra}}\n---\n`;
  const text =
    m('none', '') +
    m('str-blue', ', ambassador_id: blue') +
    m('list-blue', ', ambassador_id: [green, blue]') +
    m('auto', ', ambassador_id: [_automatic_]') +
    m('syn', ', ambassadorId: blue') +
    m('other', ', ambassador_id: [red]');
  assert.deepEqual(state(build(text, 'blue')), {
    'Mapping/default/none': 'Ignored',
    'Mapping/default/str-blue': 'Accepted',
    'Mapping/default/list-blue': 'Accepted',
    'Mapping/default/auto': 'Accepted',
    'Mapping/default/syn': 'Accepted',
    'Mapping/default/other': 'Ignored',
  });
  const def = build(text);
  assert.equal(def.statuses[0].state, 'Accepted');
  assert.equal(def.statuses[5].conditions[0].reason, 'AmbassadorIdMismatch');
  const syn = build(text, 'blue').mappings.find((x) => x.name === 'syn');
  assert.deepEqual(syn?.spec.ambassador_id, ['blue']);
});

test('unknown kinds and not-yet-served kinds are ignored with a note, not an error', () => {
  const rs = build(`apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h}
spec: {hostname: x}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
`);
  assert.deepEqual(Object.values(state(rs)), ['Ignored', 'Ignored', 'Ignored']);
  assert.ok(rs.statuses.every((s) => s.conditions[0].reason === 'UnknownKind'));
  assert.match(rs.statuses[1].conditions[0].message, /not served by Legate yet/);
  assert.equal(hasCriticalProblems(rs.statuses), false);
  assert.deepEqual(formatProblems(rs.statuses), []);
  assert.equal(formatProblems(rs.statuses, { includeIgnored: true }).length, 3);
});

test('an unknown field rejects only that object, naming the field and its line', () => {
  const rs = build(`apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: bad}
spec:
  prefix: /a/
  prefx: /b/
  service: a
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: good}
spec: {prefix: /c/, service: c, hostname: "*"}
`);
  assert.deepEqual(
    rs.mappings.map((m) => m.name),
    ['good'],
  );
  assert.deepEqual(formatProblems(rs.statuses), [
    'cfg.yaml:6 Mapping/default/bad spec.prefx: unknown field "prefx" (did you mean "prefix"?)',
  ]);
  assert.equal(rs.statuses[0].conditions[0].reason, 'UnknownField');
});

test('missing metadata.name, apiVersion, spec; unsupported version', () => {
  const rs = build(`apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {}
spec: {prefix: /, service: a}
---
kind: Mapping
metadata: {name: x}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: y}
---
apiVersion: getambassador.io/v9
kind: Mapping
metadata: {name: z}
spec: {}
---
apiVersion: getambassador.io/v2
kind: Mapping
metadata: {name: w}
spec: {prefix: /}
`);
  const lines = formatProblems(rs.statuses);
  assert.deepEqual(lines, [
    'cfg.yaml:3 Mapping/default/<unnamed> metadata.name: required field "name" is missing',
    'cfg.yaml:6 Mapping/default/x apiVersion: required field "apiVersion" is missing',
    'cfg.yaml:9 Mapping/default/y spec: required field "spec" is missing',
    'cfg.yaml:13 Mapping/default/z apiVersion: Mapping is read as getambassador.io v3alpha1, v2, v1 or ambassador/v0, not getambassador.io/v9',
    'cfg.yaml:21 Mapping/default/w spec.service: required field "service" is missing',
  ]);
  assert.equal(rs.mappings.length, 0);
  assert.equal(hasCriticalProblems(rs.statuses), true);
});

test('duplicate identity: the later one is rejected naming the first; keys stay unique', () => {
  const m = (svc: string) =>
    `apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: dup}\nspec: {prefix: /, service: ${svc}, hostname: "*"}\n---\n`;
  const rs = build(m('one') + m('two'));
  assert.deepEqual(
    rs.mappings.map((x) => x.spec.service),
    ['one'],
  );
  assert.deepEqual(
    rs.statuses.map((s) => s.key),
    ['Mapping/default/dup', 'Mapping/default/dup#2'],
  );
  assert.equal(rs.statuses[1].conditions[0].reason, 'DuplicateName');
  assert.match(rs.statuses[1].conditions[0].message, /already defined at cfg\.yaml:1/);
});

test('the object in use keeps the plain key when an earlier namesake is ignored or invalid', () => {
  const rs = build(`apiVersion: getambassador.io/v2
kind: Mapping
metadata: {name: m}
spec: {prefix: /, service: x, ambassador_id: other}
---
apiVersion: getambassador.io/v2
kind: Mapping
metadata: {name: m}
spec: {prefix: /, service: y}
`);
  assert.deepEqual(state(rs), { 'Mapping/default/m#2': 'Ignored', 'Mapping/default/m': 'Accepted' });
  assert.equal(rs.mappings[0].key, 'Mapping/default/m');
});

test('Module: only "ambassador" is read; a second one conflicts; v2 ambassador_id string', () => {
  const rs = build(`apiVersion: getambassador.io/v2
kind: Module
metadata: {name: ambassador}
spec: {ambassador_id: default, config: {cluster_request_timeout_ms: 5000, anything_else: 1}}
---
apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: tls}
spec: {config: {}}
---
apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador, namespace: other}
spec: {config: {}}
`);
  assert.equal(rs.modules.length, 1);
  assert.deepEqual(rs.modules[0].spec, {
    ambassador_id: ['default'],
    config: { cluster_request_timeout_ms: 5000, anything_else: 1 },
  });
  assert.deepEqual(
    rs.statuses.map((s) => [s.state, s.conditions[0]?.reason]),
    [
      ['Accepted', undefined],
      ['Rejected', 'ModuleConflict'],
      ['Rejected', 'ModuleConflict'],
    ],
  );
});

test('EndpointSlice: serviceName from the label; missing label rejects; null endpoints are empty', () => {
  const rs = build(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints: null
ports: [{port: 8080, name: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: orphan}
addressType: IPv4
endpoints: []
`);
  assert.equal(rs.endpointSlices.length, 1);
  assert.equal(rs.endpointSlices[0].serviceName, 'web');
  assert.deepEqual(rs.endpointSlices[0].spec, {
    addressType: 'IPv4',
    endpoints: [],
    ports: [{ port: 8080, name: 'http' }],
  });
  assert.equal(rs.statuses[1].state, 'Rejected');
  assert.equal(rs.statuses[1].conditions[0].field, 'metadata.labels.kubernetes.io/service-name');
});

test('source problems become File statuses with ParseError', () => {
  const rs = buildResourceSet(
    [
      {
        source: 'file',
        objects: [],
        problems: [{ location: { source: 'file', file: 'x/bad.yaml', line: 4 }, message: 'YAML error' }],
      },
    ],
    { ambassadorId: 'default' },
  );
  assert.equal(rs.statuses[0].key, 'File/x/bad.yaml');
  assert.equal(rs.statuses[0].kind, 'File');
  assert.equal(rs.statuses[0].conditions[0].reason, 'ParseError');
  assert.deepEqual(formatProblems(rs.statuses), ['x/bad.yaml:4 File/x/bad.yaml: YAML error']);
});

test('never throws, and every input object gets exactly one status (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 6 }),
      fc.anything(),
      fc.string(),
      (objs, spec, annotation) => {
        const objects = [
          ...objs.map((o) => ({ object: o, location: { source: 'p' } })),
          {
            object: { apiVersion: 'getambassador.io/v2', kind: 'Mapping', metadata: { name: 'm' }, spec },
            location: { source: 'p' },
          },
          {
            object: {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 's', annotations: { 'getambassador.io/config': annotation } },
            },
            location: { source: 'p' },
          },
        ];
        const rs = buildResourceSet([{ source: 'p', objects, problems: [] }], { ambassadorId: 'default' });
        assert.ok(rs.statuses.length >= objects.length);
        assert.equal(new Set(rs.statuses.map((s) => s.key)).size, rs.statuses.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('inputs are not modified', () => {
  const p = parseConfigText(
    'apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: a}\nspec: {prefix: /, service: a, tls: true, headers: {x: true}, ambassadorId: default}\n',
    'a.yaml',
    'file',
  );
  const before = JSON.stringify(p.objects);
  buildResourceSet([{ source: 'file', objects: p.objects, problems: [] }], { ambassadorId: 'default' });
  assert.equal(JSON.stringify(p.objects), before);
});
