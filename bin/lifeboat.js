#!/usr/bin/env -S node --max-semi-space-size=8
// The published entry point runs the compiled CLI (npm run build writes dist/).
//
// --max-semi-space-size=8: V8 lets its young generation grow to 2 × 16 MB, and a backup's
// stream of short-lived pages keeps it there. With 8 MB semi-spaces a backup's peak RSS is
// 10–40 MB lower for a few per cent more CPU; 4 MB would save ~10 MB more but cost 15–25% CPU
// (docs/decisions/0009-backup-memory.md). The Dockerfile's ENTRYPOINT passes the same flags,
// and test/entry-point.test.ts keeps the two in step.
import '../dist/cli/run.js';
