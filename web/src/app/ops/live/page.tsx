"use client";
// Live figures: what the process serving this console counts at /metrics, read every few
// seconds and drawn as small lines of the last five minutes. A figure /metrics does not
// expose is said to be missing, never drawn from something else.
import { useCallback, useEffect, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { type Exposition, type Grouping, readMetrics, sumBy } from "@/components/ops/metrics";
import { Sparkline } from "@/components/ops/Sparkline";
import { usePolling } from "@/components/ops/usePolling";

const EVERY = 5; // seconds between readings
const KEPT = 60; // readings kept: five minutes

type Reading = { at: number; metrics: Exposition };

type Figure = {
  id: string;
  title: string;
  unit: string;
  note?: string;
  metric: string;
  by: string | null; // the label whose values are the figure's series
  rate: boolean; // a counter, drawn as its rate per minute
  scale?: number;
  grouping?: Grouping;
};

const FIGURES: Figure[] = [
  {
    id: "orders",
    title: "Orders per minute, by flow",
    unit: "/min",
    metric: "orderly_orders_placed_total",
    by: "channel",
    rate: true,
  },
  {
    id: "saga-failures",
    title: "Sagas undone or stuck, by kind",
    unit: "",
    metric: "orderly_sagas",
    by: "kind",
    rate: false,
    grouping: { states: ["compensated", "failed", "stuck"] },
    note: "Each saga that compensated its steps, failed or is stuck waits for an operator: the dead letters below, or its order's page.",
  },
  {
    id: "outbox",
    title: "Outbox backlog, by context",
    unit: "waiting",
    metric: "orderly_outbox_pending",
    by: "context",
    rate: false,
  },
  {
    id: "lag",
    title: "Consumer lag, by context",
    unit: "s",
    metric: "orderly_consumer_lag_seconds",
    by: "consumer",
    rate: false,
    // consumers are named `<context>.<handler>`: the slowest of each context's
    grouping: { group: (consumer) => consumer.split(".")[0] ?? consumer, largest: true },
    note: "How long ago the last message a consumer handled was published: each context's slowest consumer.",
  },
  {
    id: "deliveries",
    title: "Deliveries per minute, by outcome",
    unit: "/min",
    metric: "orderly_messages_consumed_total",
    by: "outcome",
    rate: true,
  },
  {
    id: "published",
    title: "Messages published per minute, by context",
    unit: "/min",
    metric: "orderly_messages_published_total",
    by: "context",
    rate: true,
  },
  {
    id: "breakers",
    title: "Circuit breakers open",
    unit: "",
    metric: "orderly_circuit_breaker_open",
    by: "circuit",
    rate: false,
  },
  {
    id: "cpu",
    title: "Process CPU",
    unit: "% of a core",
    metric: "process_cpu_seconds_total",
    by: null,
    rate: true,
    scale: 100 / 60,
  },
  {
    id: "memory",
    title: "Process memory (resident)",
    unit: "MB",
    metric: "process_resident_memory_bytes",
    by: null,
    rate: false,
    scale: 1 / 1_000_000,
  },
];

type Series = { name: string; values: number[] };

/** Each series of a figure over the readings kept: values, or per-minute rates of a counter. */
function seriesOf(figure: Figure, readings: Reading[]): Series[] {
  const points = readings.map((reading) => ({
    at: reading.at,
    sums: sumBy(reading.metrics, figure.metric, figure.by, figure.grouping),
  }));
  const names = [...new Set(points.flatMap((point) => [...point.sums.keys()]))].sort();
  const scale = figure.scale ?? 1;
  return names.map((name) => {
    if (figure.rate) {
      const values: number[] = [];
      for (let index = 1; index < points.length; index++) {
        const [was, now] = [points[index - 1], points[index]];
        if (!was || !now) continue;
        const minutes = (now.at - was.at) / 60_000;
        const grown = (now.sums.get(name) ?? 0) - (was.sums.get(name) ?? 0);
        values.push(minutes > 0 ? (Math.max(grown, 0) / minutes) * scale : 0);
      }
      return { name, values };
    }
    return { name, values: points.map((point) => (point.sums.get(name) ?? 0) * scale) };
  });
}

const shown = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(value % 1 ? 1 : 0));

function FigureCard({ figure, readings }: { figure: Figure; readings: Reading[] }) {
  const latest = readings.at(-1);
  let body: React.ReactNode;
  if (!latest) {
    body = <p aria-busy="true">Reading…</p>;
  } else if (!latest.metrics.declared.has(figure.metric)) {
    body = (
      <p className="ops-missing">
        Not exposed by this process&apos;s /metrics (<code>{figure.metric}</code>).
      </p>
    );
  } else {
    const series = seriesOf(figure, readings);
    body =
      series.length === 0 ? (
        <p className="muted">None yet: nothing counted since the process started.</p>
      ) : (
        <ul className="ops-series">
          {series.map((one) => {
            const last = one.values.at(-1);
            const text = last === undefined ? "measuring…" : `${shown(last)} ${figure.unit}`.trim();
            return (
              <li key={one.name}>
                <span className="ops-series-name">{one.name || "this process"}</span>
                <Sparkline values={one.values} label={`${figure.title}, ${one.name || "this process"}: ${text}`} />
                <span className="ops-series-value" data-testid={`${figure.id}-${one.name || "all"}`}>
                  {text}
                </span>
              </li>
            );
          })}
        </ul>
      );
  }
  return (
    <li className="card ops-figure" aria-labelledby={`figure-${figure.id}`} data-figure={figure.id}>
      <h2 id={`figure-${figure.id}`}>{figure.title}</h2>
      {body}
      {figure.note ? <p className="muted ops-note">{figure.note}</p> : null}
    </li>
  );
}

export default function LiveFiguresPage() {
  const [readings, setReadings] = useState<Reading[]>([]);
  const [error, setError] = useState<unknown>(null);

  const read = useCallback(async () => {
    try {
      const metrics = await readMetrics();
      setReadings((kept) => [...kept, { at: Date.now(), metrics }].slice(-KEPT));
      setError(null);
    } catch (refusal) {
      setError(refusal);
    }
  }, []);

  useEffect(() => {
    void read();
  }, [read]);
  usePolling(() => void read(), EVERY);

  return (
    <>
      <h1>Live figures</h1>
      <p className="muted">
        Read from <code>/metrics</code> every {EVERY} seconds: the figures of the process serving this console (in the
        distributed mode, each process counts its own). Rates need two readings.
      </p>
      <ProblemAlert error={error} />
      <ul className="cards ops-figures" aria-label="Figures">
        {FIGURES.map((figure) => (
          <FigureCard key={figure.id} figure={figure} readings={readings} />
        ))}
      </ul>
    </>
  );
}
