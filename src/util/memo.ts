// Pure functions of a string, remembered. A reconcile pass asks the same questions about the
// same few time zones and cron expressions for every schedule, several times, and each answer
// builds an Intl.DateTimeFormat or a cron iterator (~0.3 ms each): 500 schedules spent over a
// second there. Bounded, so a reconciler that runs for months on changing policies keeps a
// constant footprint; an answer that throws is remembered and thrown again.
export function memoize<R>(fn: (key: string) => R, max = 1000): (key: string) => R {
  const cache = new Map<string, { value: R } | { error: unknown }>();
  return (key) => {
    let hit = cache.get(key);
    if (hit === undefined) {
      try {
        hit = { value: fn(key) };
      } catch (error) {
        hit = { error };
      }
      // Forget the oldest question first (a Map iterates in insertion order).
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(key, hit);
    }
    if ('error' in hit) throw hit.error;
    return hit.value;
  };
}
