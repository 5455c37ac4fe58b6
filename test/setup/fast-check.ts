/**
 * Jest setup file (jest.config.cjs `setupFiles`): every `fc.assert` in the suite that sets no
 * seed of its own runs with the pinned seed of test/property/fc-parameters.ts (FC_SEED
 * overrides it; `FC_SEED=random` draws one, printed on failure), so no suite depends on luck.
 */
import fc from 'fast-check';
import { fcSeed } from '../property/fc-parameters.js';

const seed = fcSeed();
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
