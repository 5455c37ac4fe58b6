/** Reproducible randomness: the seed of every fast-check suite is pinned unless FC_SEED says otherwise. */
import fc from 'fast-check';
import { DEFAULT_SEED, fcParameters, fcRunsScale, fcSeed } from './fc-parameters.js';

describe('fast-check seeds', () => {
  test('without FC_SEED the committed seed is used; FC_SEED overrides it; "random" unpins it', () => {
    expect(fcSeed({})).toBe(DEFAULT_SEED);
    expect(fcSeed({ FC_SEED: '42' })).toBe(42);
    expect(fcSeed({ FC_SEED: '-7' })).toBe(-7);
    expect(fcSeed({ FC_SEED: 'random' })).toBeUndefined();
    expect(() => fcSeed({ FC_SEED: '4.2' })).toThrow('FC_SEED must be an integer or "random"');
  });

  test('FC_RUNS scales the number of runs and must be a positive number', () => {
    expect(fcRunsScale({})).toBe(1);
    expect(fcRunsScale({ FC_RUNS: '10' })).toBe(10);
    expect(() => fcRunsScale({ FC_RUNS: '0' })).toThrow('FC_RUNS must be a positive number');
  });

  test('every fc.assert of the suite runs with that seed (the jest setup file pins it)', () => {
    expect(fc.readConfigureGlobal().seed).toBe(fcSeed());
    expect(fcParameters(10).seed).toBe(fcSeed());
  });

  test('a failure names its seed and path, to replay it with FC_SEED and FC_PATH', () => {
    let message = '';
    try {
      fc.assert(
        fc.property(fc.nat(), (n) => n < 5),
        fcParameters(100),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/seed: -?\d+, path: "[\d:]+"/);
  });
});
