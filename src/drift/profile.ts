// `profile`: the applied power profile vs the declared one. The power piece owns the
// comparison (src/power/drift.ts); this only asks it.
import { profileDrift } from '../power/drift.js';
import type { KindCheck } from './kind.js';

export const profileCheck: KindCheck = {
  kind: 'profile',
  check: (ctx) => profileDrift(ctx.config),
};
