// V8's optimizing compiler (TurboFan) for one-shot commands. A `lifeboat reconcile --once` that
// finds nothing due runs for about a second; TurboFan compiled the parsing and checking code it
// saw run a few hundred times, on background threads whose CPU the pass pays, and the process
// exited before the compiled code paid that back (~0.4 s of a 1.8 s pass at 50 schedules). So
// the quiet part of such a pass runs on V8's interpreter and baseline compiler only, and the
// pass turns TurboFan back on before it does work that runs long (ADR 0045). Flags set here
// apply to code tiered up from now on; V8 reads them at every tier-up decision.
import { setFlagsFromString } from 'node:v8';

/** Tier up no further than V8's baseline compiler, until resumeOptimizingCompiler(). */
export function pauseOptimizingCompiler(): void {
  setFlagsFromString('--no-turbofan');
}

/** Let V8 optimize hot code again (the default). */
export function resumeOptimizingCompiler(): void {
  setFlagsFromString('--turbofan');
}
