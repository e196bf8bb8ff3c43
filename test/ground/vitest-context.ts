// The test ground's coordinates as vitest's provided context (global-setup provides, tests
// inject). Kept apart from context.ts so the ground itself does not depend on vitest's types.
import type { GroundInfo } from './context.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ground: GroundInfo;
  }
}
