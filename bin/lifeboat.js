#!/usr/bin/env node
// The published entry point runs the compiled CLI (npm run build writes dist/).
//
// Plain `env node`, no flags: `env -S` would carry them, but BusyBox's env (Alpine images, a
// common CI base) has no -S. The reconciler image passes its V8 flags in the Dockerfile's
// ENTRYPOINT instead (docs/decisions/0009-backup-memory.md); on the CLI, NODE_OPTIONS can.
import '../dist/cli/run.js';
