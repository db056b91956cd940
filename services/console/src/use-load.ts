import { useCallback, useEffect, useRef, useState } from 'react';

import { useConsole } from './console-context';

/**
 * Loads what a page shows through `act` (so a failure reaches the status line): on mount, and again on `reload()`.
 * The request in flight is aborted when the page goes away or a newer load starts.
 */
export function useLoad<T>(what: string, load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[] = []): [T | undefined, () => Promise<void>] {
  const { act } = useConsole();
  const [data, setData] = useState<T>();
  const current = useRef<AbortController | null>(null);
  const loader = useRef(load);
  loader.current = load;

  const reload = useCallback(async () => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    const result = await act(what, () => loader.current(controller.signal));
    if (!controller.signal.aborted && result !== undefined) setData(result);
  }, [act, what, ...deps]);

  useEffect(() => {
    void reload();
    return () => current.current?.abort();
  }, [reload]);

  return [data, reload];
}
