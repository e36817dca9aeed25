// Preloaded with --import into a CLI process under test: the clock reads $FAKE_CLOCK_AT (an ISO
// time) at start and runs on from there, so a run can happen "on a later day" without sleeping.
// Only Date moves; timers and the monotonic clock are the real ones.
const RealDate = globalThis.Date;
const offset = RealDate.parse(process.env.FAKE_CLOCK_AT ?? '') - RealDate.now();
if (!Number.isFinite(offset)) throw new Error('fake-clock.mjs: FAKE_CLOCK_AT must be an ISO time');

class FakeDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = FakeDate;
