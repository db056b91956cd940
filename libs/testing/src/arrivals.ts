/** Items that arrive over time (socket frames, packets), and a wait for the first one that matches. */
export interface Arrivals<T> {
  /** Everything that arrived so far, oldest first. */
  readonly items: T[];
  push(item: T): void;
  /** The first item, arrived or arriving within `timeoutMs`, for which `predicate` holds; rejects naming `what`. */
  next(predicate: (item: T) => boolean, what: string, timeoutMs?: number): Promise<T>;
}

/** Collects arriving items and wakes the waits they satisfy, without polling. */
export function arrivals<T>(): Arrivals<T> {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  return {
    items,
    push(item) {
      items.push(item);
      for (const wake of [...waiters]) wake();
    },
    next: (predicate, what, timeoutMs = 10_000) =>
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = items.find(predicate);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(items.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
