"use client";
// A REST read for the operator console: its answer, its refusal, and a way to read it again
// (after an action, or on a timer).
import { useCallback, useEffect, useState } from "react";

import { rest } from "@/lib/api";

export type Loaded<T> = {
  data: T | null;
  error: unknown;
  reload: () => Promise<void>;
};

/** GET `path` now and whenever it changes; `null` reads nothing. */
export function useRest<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(async () => {
    if (path === null) return;
    try {
      setData(await rest<T>("GET", path));
      setError(null);
    } catch (refusal) {
      setError(refusal);
    }
  }, [path]);

  useEffect(() => {
    setData(null);
    void reload();
  }, [reload]);

  return { data, error, reload };
}

/** A path with its query string, leaving out the parameters without a value. */
export function withQuery(path: string, params: Record<string, string | string[] | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one) query.append(name, one);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A time as the operator's browser shows it; a dash for none. */
export function when(at: string | null | undefined): string {
  return at ? new Date(at).toLocaleString() : "—";
}

/** The first characters of an id: enough to tell records apart on a screen. */
export const short = (id: string) => id.slice(0, 8);

export type Action = {
  busy: boolean;
  error: unknown;
  run: (work: () => Promise<void>) => Promise<boolean>;
  clear: () => void;
};

/** An operator's action: busy while it runs, its refusal kept to show; true if it went through. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (refusal) {
      setError(refusal);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => setError(null), []);
  return { busy, error, run, clear };
}
