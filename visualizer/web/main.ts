/**
 * Entry of the page (loaded as an ES module from `/js/main.js`): asks the server whether
 * this is a live session or a replay, then feeds the frames to the App.
 */
import { App } from './app.js';
import { connectLive, fetchSession, loadReplay, type SourceHandlers } from './source.js';

async function start(): Promise<void> {
  const session = await fetchSession();
  const app = new App(session.mode);
  (window as unknown as { __xrepl: unknown }).__xrepl = { app, stats: app.stats, session };
  let pendingBytes = 0;
  const handlers: SourceHandlers = {
    onFrames: (frames) => {
      app.receive(frames, pendingBytes);
      pendingBytes = 0;
    },
    onReset: () => app.reset(),
    onStatus: (status, detail) => app.status(status, detail),
    onProblem: (p) => app.problem(p),
    onBytes: (n) => {
      pendingBytes += n;
    },
  };
  if (session.mode === 'replay') {
    document.title = `xrepl visualizer · replay ${session.source ?? ''}`;
    await loadReplay(session.replay ?? '/api/replay.json', handlers);
  } else {
    connectLive(session.ws ?? '/ws', handlers);
  }
}

start().catch((err: unknown) => {
  const el = document.getElementById('conn');
  if (el !== null) {
    el.className = 'conn conn-error';
    el.textContent = `error: ${err instanceof Error ? err.message : String(err)}`;
  }
  console.error(err);
});
