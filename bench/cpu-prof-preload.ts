/**
 * Loaded with `--import=<this file>` (in NODE_OPTIONS for the nodes: Node refuses --cpu-prof there):
 * a V8 CPU profiler in this process that SIGUSR2 toggles. The first SIGUSR2 starts it; the next stops
 * it and writes `skein-<pid>-<n>.cpuprofile` into `$SKEIN_CPU_PROF_DIR`. So a benchmark profiles only
 * its measurement window, not start-up and shutdown. A process that exits while profiling writes
 * what it has. Sampling interval: 1 ms, `--cpu-prof`'s default.
 *
 * The in-thread inspector session answers `post` synchronously, which is what makes writing from an
 * 'exit' handler (synchronous code only) possible.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['SKEIN_CPU_PROF_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  let profiling = false;
  let written = 0;
  const stopAndWrite = (): void => {
    profiling = false;
    session.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(join(dir, `skein-${process.pid}-${++written}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('SIGUSR2', () => {
    if (profiling) stopAndWrite();
    else {
      profiling = true;
      session.post('Profiler.start');
    }
  });
  process.on('exit', () => {
    if (profiling) stopAndWrite();
  });
}
