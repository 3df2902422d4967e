import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type as T } from '@sinclair/typebox';
import { MappingSpec } from './getambassador.io/mapping.js';
import { MappingV2Spec } from './getambassador.io/mapping-v2.js';
import { validateValue } from './validate.js';

const brief = (cs: ReturnType<typeof validateValue>) => cs.map((c) => `${c.reason} ${c.field}: ${c.message}`);

test('valid input gives no conditions', () => {
  assert.deepEqual(validateValue(MappingSpec, { prefix: '/', service: 's' }, 'spec'), []);
});

test('precise fields and messages', () => {
  const cs = validateValue(
    MappingSpec,
    {
      prefx: '/',
      service: 's',
      weight: 101,
      headers: { 'x-foo': 1 },
      redirect_response_code: 300,
      prefix_exact: 'yes',
    },
    'spec',
  );
  assert.deepEqual(brief(cs).sort(), [
    'InvalidField spec.headers.x-foo: must be a string (got 1)',
    'InvalidField spec.prefix_exact: must be true or false (got "yes")',
    'InvalidField spec.redirect_response_code: must be one of 301, 302, 303, 307, 308 (got 300)',
    'InvalidField spec.weight: must be an integer between 0 and 100 (got 101)',
    'MissingField spec.prefix: required field "prefix" is missing',
    'UnknownField spec.prefx: unknown field "prefx" (did you mean "prefix"?)',
  ]);
  assert.ok(cs.every((c) => c.critical));
});

test('v2 unions are described', () => {
  const cs = validateValue(
    MappingV2Spec,
    { prefix: '/', service: 's', tls: 3, headers: { a: false } },
    'spec',
  );
  assert.deepEqual(brief(cs).sort(), [
    'InvalidField spec.headers.a: must be a string or true (got false)',
    'InvalidField spec.tls: must be true or false or a string (got 3)',
  ]);
});

test('the number of conditions per object is capped', () => {
  const many: Record<string, number> = {};
  for (let i = 0; i < 50; i++) many[`k${i}`] = i;
  const cs = validateValue(T.Object({}, { additionalProperties: false }), many, 'spec');
  assert.equal(cs.length, 21);
  assert.match(cs[20].message, /30 more problems not shown/);
});
