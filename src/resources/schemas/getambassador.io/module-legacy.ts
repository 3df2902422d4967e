/**
 * Module for getambassador.io/v2 and v1 and `ambassador/v0`: the v3alpha1 shape, except that
 * `ambassador_id` may be a single string. Exported for the CRD generator.
 */
import { type Static, Type as T } from '@sinclair/typebox';
import { AmbassadorIdV2 } from './mapping-v2.js';
import { ModuleConfig } from './module.js';

export const ModuleLegacySpec = T.Object(
  {
    ambassador_id: T.Optional(AmbassadorIdV2),
    config: T.Optional(ModuleConfig),
  },
  { additionalProperties: false },
);
export type ModuleLegacySpec = Static<typeof ModuleLegacySpec>;
