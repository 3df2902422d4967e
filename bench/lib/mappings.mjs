// Generates large, realistic Mapping sets for bench/reconfigure.mjs: mostly plain prefixes, with a
// share of exact hostnames, method + header constraints, regex prefixes and 90/10 canary pairs, so
// the IR and route-table work is not just the cheapest path. Deterministic for a given count.
// Pure function; returns multi-document YAML text.

/**
 * @param {object} o
 * @param {number} o.count        number of Mappings
 * @param {string} o.service      service every generated Mapping points at (host:port)
 * @param {string[]} [o.extraPrefixes]  additional plain Mappings (prefix → same service), e.g. probes
 * @param {string} [o.namePrefix]
 */
export function generateMappings({ count, service, extraPrefixes = [], namePrefix = 'gen' }) {
  const docs = [];
  for (let i = 0; i < count; i++) {
    const lines = [
      'apiVersion: getambassador.io/v3alpha1',
      'kind: Mapping',
      'metadata:',
      `  name: ${namePrefix}-${i}`,
      'spec:',
    ];
    if (i % 20 === 19) {
      // canary partner of the previous Mapping: same match, 10% of its traffic
      lines.push('  hostname: "*"', `  prefix: /svc-${i - 1}/`, '  weight: 10');
    } else if (i % 50 === 7) {
      lines.push(
        '  hostname: "*"',
        `  prefix: "^/re-${i}/[0-9]+(/.*)?$"`,
        '  prefix_regex: true',
        '  rewrite: ""',
      );
    } else if (i % 10 === 3) {
      lines.push(`  hostname: svc-${i}.example.com`, `  prefix: /svc-${i}/`);
    } else if (i % 10 === 5) {
      lines.push(
        '  hostname: "*"',
        `  prefix: /svc-${i}/`,
        '  method: GET',
        '  headers:',
        `    x-tenant: t-${i}`,
      );
    } else {
      lines.push('  hostname: "*"', `  prefix: /svc-${i}/`);
    }
    lines.push(`  service: ${service}`);
    docs.push(lines.join('\n'));
  }
  extraPrefixes.forEach((prefix, j) => {
    docs.push(
      [
        'apiVersion: getambassador.io/v3alpha1',
        'kind: Mapping',
        'metadata:',
        `  name: ${namePrefix}-extra-${j}`,
        'spec:',
        '  hostname: "*"',
        `  prefix: ${prefix}`,
        `  service: ${service}`,
      ].join('\n'),
    );
  });
  return `${docs.join('\n---\n')}\n`;
}

/** How many routes (canary groups) `generateMappings` yields for `count` Mappings. */
export function expectedRouteCount(count, extra = 0) {
  let partners = 0;
  for (let i = 0; i < count; i++) if (i % 20 === 19) partners++;
  return count - partners + extra;
}
