"use client";
import { useEffect, useRef } from "react";

/** Calls `tick` every `seconds` while the page is open (not while its tab is hidden). */
export function usePolling(tick: () => void, seconds: number): void {
  const latest = useRef(tick);
  useEffect(() => {
    latest.current = tick;
  }, [tick]);
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden") latest.current();
    }, seconds * 1000);
    return () => window.clearInterval(timer);
  }, [seconds]);
}
