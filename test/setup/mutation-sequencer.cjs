/**
 * The order of test files in mutation testing (stryker.jest.config.cjs): the quick rule tests
 * first, the slow generated and property suites last, so a mutant that a rule test kills stops
 * there (Stryker bails at the first failure) instead of after the model tests' thousands of
 * paths. Jest's own order (slowest first) is the opposite.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest loads sequencers as CommonJS
const Sequencer = require('@jest/test-sequencer').default;

const RANK = [
  /\/test\/driver\/(?!scale)/,
  /\/test\/jobs\//,
  /\/test\/visualizer\//,
  /\/test\/property\/regressions/,
  /\/test\/property\/differential/,
  /\/test\/driver\/scale/,
  /\/test\/property\//,
  /\/test\/model\/(?!filesystem)/,
  /\/test\/model\//,
];

const rank = (path) => {
  const index = RANK.findIndex((pattern) => pattern.test(path));
  return index === -1 ? RANK.length : index;
};

class RulesFirst extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }
}

module.exports = RulesFirst;
