import { replicate } from '../../src/index.js';
import { Script, fsWith } from '../helpers/scripted.js';

test('smoke', async () => {
  const script = new Script([fsWith('pool', [1, 2]), fsWith('pool/a', [3]), fsWith('pool/b', [0.5, 4])]);
  const r = replicate({ stepQueueConcurrency: 1, maxAttempts: 1, reconnectHardFailTimeoutMs: 1000 }, script);
  const report = await r.wait();
  console.log(JSON.stringify(report.attempts[0]?.filesystems.map(f=>[f.info.name,f.state,f.planError,f.stepError])));
  console.log(script.order());
  expect(report.state).toBe('done');
});
