"use client";
import { useEffect, useState } from "react";

/** Minutes and seconds left until `until` (ISO 8601), ticking; "no longer" once it passed. */
export function Countdown({ until }: { until: string }) {
  const end = Date.parse(until);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const tick = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(tick);
  }, []);

  const left = Math.max(0, Math.floor((end - now) / 1000));
  if (left === 0) return <span className="muted">no longer: the hold ran out</span>;
  const shown = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  return (
    <time dateTime={until} title={new Date(end).toLocaleTimeString()} aria-live="off">
      {shown}
    </time>
  );
}
