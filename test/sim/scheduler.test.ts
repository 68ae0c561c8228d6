/**
 * Scheduler and ScopedClock: event order, cancellation, microtask settling between events, the stop
 * conditions of `runUntil`, and a process clock's crash/pause/skew behaviour. Virtual time only.
 */

import { expect } from 'chai';
import { Scheduler } from '../../sim/scheduler.js';
import type { SettleMode } from '../../sim/scheduler.js';

for (const settle of ['promise-hooks', 'macrotask'] as const satisfies readonly SettleMode[]) {
  describe(`Scheduler (settle: ${settle})`, () => {
    const make = (): Scheduler => new Scheduler({ settle });

    it('runs events by time, then by insertion order, advancing virtual time', async () => {
      const s = make();
      const log: string[] = [];
      s.setTimer(20, () => log.push(`c@${s.nowMs()}`));
      s.setTimer(10, () => log.push(`a@${s.nowMs()}`));
      s.schedule(10, () => log.push(`b@${s.nowMs()}`));
      s.setTimer(-5, () => log.push(`z@${s.nowMs()}`));
      s.setTimer(0, () => log.push(`y@${s.nowMs()}`));
      const result = await s.runUntil();
      expect(log).to.deep.equal(['z@0', 'y@0', 'a@10', 'b@10', 'c@20']);
      expect(result).to.deep.equal({ reason: 'idle', events: 5, nowMs: 20 });
      expect(s.eventsRun).to.equal(5);
    });

    it('keeps heap order for many interleaved timers, including ones scheduled by events', async () => {
      const s = make();
      const log: Array<[number, number]> = [];
      // A fixed pseudo-random pattern of delays (no Math.random in tests either).
      let x = 7;
      for (let i = 0; i < 500; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const delay = x % 50;
        s.setTimer(delay, () => {
          log.push([s.nowMs(), i]);
          if (i % 3 === 0) s.setTimer(delay % 7, () => log.push([s.nowMs(), 1000 + i]));
        });
      }
      await s.runUntil();
      expect(log).to.have.length(500 + 167);
      for (let k = 1; k < log.length; k++) expect(log[k]![0]).to.be.at.least(log[k - 1]![0]);
      // Same-time events from the initial batch keep insertion order.
      const initial = log.filter(([, i]) => i < 1000);
      for (let k = 1; k < initial.length; k++) {
        if (initial[k]![0] === initial[k - 1]![0]) expect(initial[k]![1]).to.be.greaterThan(initial[k - 1]![1]);
      }
    });

    it('never runs a cancelled event; cancelling twice or after running is harmless', async () => {
      const s = make();
      const log: string[] = [];
      const cancelA = s.setTimer(5, () => log.push('a'));
      s.setTimer(5, () => log.push('b'));
      const cancelC = s.setTimer(1, () => {
        log.push('c');
        cancelA();
      });
      expect(s.pending).to.equal(3);
      await s.runUntil();
      cancelA();
      cancelC();
      expect(log).to.deep.equal(['c', 'b']);
      expect(s.pending).to.equal(0);
    });

    it('stays correct when most timers are cancelled (heap compaction)', async () => {
      const s = make();
      const log: number[] = [];
      const cancels = [];
      for (let i = 0; i < 5000; i++) cancels.push(s.setTimer(5000 - i, () => log.push(i)));
      for (let i = 0; i < 5000; i++) if (i % 100 !== 0) cancels[i]!();
      expect(s.pending).to.equal(50);
      await s.runUntil();
      expect(log).to.deep.equal(Array.from({ length: 50 }, (_, k) => 4900 - 100 * k));
    });

    it('settles multi-await microtask chains before the next event', async () => {
      const s = make();
      const log: string[] = [];
      const x = Promise.resolve(1);
      const deep = async (n: number): Promise<void> => {
        if (n > 0) await deep(n - 1);
      };
      s.setTimer(1, () => {
        void (async () => {
          await x;
          await Promise.resolve().then(() => Promise.resolve(2));
          await deep(40);
          await { then: (r: (v: number) => void) => r(3) };
          log.push('first');
        })();
      });
      s.setTimer(1, () => log.push('second'));
      await s.runUntil();
      expect(log).to.deep.equal(['first', 'second']);
    });

    it('resumes a chain waiting on a virtual-time promise only when its timer fires', async () => {
      const s = make();
      const log: string[] = [];
      const sleep = (ms: number): Promise<void> => new Promise((r) => s.setTimer(ms, r));
      s.setTimer(0, () => {
        void (async () => {
          log.push(`start@${s.nowMs()}`);
          await sleep(100);
          await Promise.resolve();
          log.push(`woke@${s.nowMs()}`);
        })();
      });
      s.setTimer(50, () => log.push(`mid@${s.nowMs()}`));
      s.setTimer(100, () => log.push(`after@${s.nowMs()}`));
      s.setTimer(101, () => log.push(`later@${s.nowMs()}`));
      await s.runUntil();
      // `after` was scheduled before `sleep`'s timer, so at 100 it runs first; the woken chain then
      // finishes (two more awaits) before the event at 101.
      expect(log).to.deep.equal(['start@0', 'mid@50', 'after@100', 'woke@100', 'later@101']);
    });

    it('calls afterEvent hooks after each event has settled', async () => {
      const seen: string[] = [];
      let state = 'init';
      const s = new Scheduler({ settle, afterEvent: () => seen.push(state) });
      const remove = s.onAfterEvent(() => seen.push('extra'));
      s.setTimer(1, () => {
        void (async () => {
          await null;
          await null;
          state = 'settled';
        })();
      });
      s.setTimer(2, () => remove());
      await s.runUntil();
      expect(seen).to.deep.equal(['settled', 'extra', 'settled']);
    });

    it('stops when until() holds, checked after each event', async () => {
      const s = make();
      let count = 0;
      for (let i = 1; i <= 10; i++) s.setTimer(i, () => count++);
      const r = await s.runUntil({ until: () => count === 3 });
      expect(r).to.deep.equal({ reason: 'until', events: 3, nowMs: 3 });
      const again = await s.runUntil({ until: () => count === 3 });
      expect(again.events).to.equal(0);
      expect(s.pending).to.equal(7);
    });

    it('stops before passing untilMs and sets time to untilMs', async () => {
      const s = make();
      const log: number[] = [];
      for (const t of [10, 20, 30]) s.setTimer(t, () => log.push(s.nowMs()));
      const r = await s.runUntil({ untilMs: 25 });
      expect(r).to.deep.equal({ reason: 'time', events: 2, nowMs: 25 });
      expect(s.nowMs()).to.equal(25);
      const r2 = await s.runUntil({ untilMs: 30 });
      expect(r2).to.deep.equal({ reason: 'idle', events: 1, nowMs: 30 });
      const r3 = await s.runUntil({ untilMs: 40 });
      expect(r3).to.deep.equal({ reason: 'idle', events: 0, nowMs: 40 });
      expect(log).to.deep.equal([10, 20, 30]);
    });

    it('throws on runaway after maxEvents', async () => {
      const s = make();
      const tick = (): void => {
        s.setTimer(1, tick);
      };
      s.setTimer(1, tick);
      let error: unknown;
      try {
        await s.runUntil({ maxEvents: 100 });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/runaway/);
      expect(s.eventsRun).to.equal(100);
      // The scheduler is usable again after the throw.
      const r = await s.runUntil({ maxEvents: 5, until: () => s.eventsRun >= 103 });
      expect(r.reason).to.equal('until');
    });

    it('rejects scheduling in the past and re-entrant runs', async () => {
      const s = make();
      const errors: string[] = [];
      s.setTimer(10, () => {
        s.runUntil().catch((e: unknown) => errors.push((e as Error).message));
      });
      await s.runUntil();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.match(/re-entrant/);
      expect(() => s.schedule(5, () => {})).to.throw(/before now/);
    });
  });
}

describe('Scheduler microtask runaway (promise-hooks)', () => {
  it('fails an event whose promise chain never waits on time', async () => {
    const s = new Scheduler({ settleChecksMax: 1000 });
    let stop = false;
    s.setTimer(1, () => {
      void (async () => {
        while (!stop) await null;
      })();
    });
    let error: unknown;
    try {
      await s.runUntil();
    } catch (e) {
      error = e;
    }
    stop = true;
    expect((error as Error).message).to.match(/microtask runaway/);
  });
});

describe('ScopedClock', () => {
  it('cancelAll cancels every pending timer of that process only', async () => {
    const s = new Scheduler();
    const a = s.clockFor('n1');
    const b = s.clockFor('n2');
    const log: string[] = [];
    a.setTimer(10, () => log.push('a10'));
    a.setTimer(20, () => log.push('a20'));
    b.setTimer(15, () => log.push('b15'));
    s.setTimer(12, () => a.cancelAll());
    await s.runUntil();
    expect(log).to.deep.equal(['a10', 'b15']);
    expect(a.pending).to.equal(0);
    // Still usable after a crash (a restarted process may reuse it).
    a.setTimer(1, () => log.push('a-again'));
    await s.runUntil();
    expect(log.at(-1)).to.equal('a-again');
  });

  it('holds timers while paused and fires them in order on resume', async () => {
    const s = new Scheduler();
    const c = s.clockFor('n1');
    const log: string[] = [];
    c.setTimer(30, () => log.push(`t30@${s.nowMs()}`));
    c.setTimer(10, () => log.push(`t10@${s.nowMs()}`));
    c.setTimer(10, () => log.push(`t10b@${s.nowMs()}`));
    const cancel20 = c.setTimer(20, () => log.push('t20'));
    c.setTimer(100, () => log.push(`t100@${s.nowMs()}`));
    s.setTimer(5, () => c.pause());
    s.setTimer(25, () => cancel20());
    s.setTimer(50, () => {
      log.push(`resume@${s.nowMs()}`);
      c.resume();
    });
    await s.runUntil();
    expect(log).to.deep.equal(['resume@50', 't10@50', 't10b@50', 't30@50', 't100@100']);
  });

  it('cancelAll also drops held timers', async () => {
    const s = new Scheduler();
    const c = s.clockFor('n1');
    let fired = 0;
    c.pause();
    c.setTimer(1, () => fired++);
    await s.runUntil({ untilMs: 10 });
    c.cancelAll();
    c.resume();
    await s.runUntil();
    expect(fired).to.equal(0);
  });

  it('rate 2 makes local time and timers run twice as fast', async () => {
    const s = new Scheduler();
    const fast = s.clockFor('n1');
    fast.rate = 2;
    const log: string[] = [];
    fast.setTimer(100, () => log.push(`fast@${s.nowMs()} local=${fast.nowMs()}`));
    await s.runUntil();
    expect(log).to.deep.equal(['fast@50 local=100']);
  });

  it('a rate change re-times pending timers and keeps local time continuous', async () => {
    const s = new Scheduler();
    const c = s.clockFor('n1');
    const log: string[] = [];
    c.setTimer(100, () => log.push(`t@${s.nowMs()}`));
    s.setTimer(40, () => {
      c.rate = 0.5; // 60 local ms left => 120 virtual ms
      log.push(`local@40=${c.nowMs()}`);
    });
    await s.runUntil();
    expect(log).to.deep.equal(['local@40=40', 't@160']);
    expect(c.nowMs()).to.equal(100);
  });

  it('jump moves local time forward and fires timers that became due, in order', async () => {
    const s = new Scheduler();
    const c = s.clockFor('n1');
    const other = s.clockFor('n2');
    const log: string[] = [];
    c.setTimer(500, () => log.push(`c500@${s.nowMs()}`));
    c.setTimer(200, () => log.push(`c200@${s.nowMs()}`));
    c.setTimer(1000, () => log.push(`c1000@${s.nowMs()}`));
    other.setTimer(300, () => log.push(`o300@${s.nowMs()}`));
    s.setTimer(10, () => {
      c.jump(600);
      log.push(`jumped local=${c.nowMs()} other=${other.nowMs()}`);
    });
    await s.runUntil();
    expect(log).to.deep.equal(['jumped local=610 other=10', 'c200@10', 'c500@10', 'o300@300', 'c1000@400']);
  });
});
