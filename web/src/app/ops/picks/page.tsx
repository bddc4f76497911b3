"use client";
// Picking, a wave's or an order's tasks in walking order: each unit is confirmed by its GS1
// barcode (typed, or sent by a USB scanner, which types it and presses Enter), or counted for
// a product without a GTIN. A unit that does not fit the task is refused with its reason.
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useCallback, useEffect, useRef, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { usePolling } from "@/components/ops/usePolling";
import { useProductNames } from "@/components/ops/useProductNames";
import { short, useAction, useRest, withQuery } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type PickTask = {
  id: string;
  order_id: string;
  wave_id: string | null;
  product_id: string;
  gtin: string | null;
  dc: string;
  lot: string;
  expires_on: string | null;
  location: string;
  quantity: number;
  picked: number;
  short: number;
  status: string;
};

function ScanForm({ task, first, picked }: { task: PickTask; first: boolean; picked: (task: PickTask) => void }) {
  const action = useAction();
  const [value, setValue] = useState("");
  const [told, setTold] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const scanning = task.gtin !== null;
  const fieldId = `pick-${task.id}`;

  // the first task still open takes the scanner's input, as the one before it closes
  useEffect(() => {
    if (first) field.current?.focus();
  }, [first]);

  return (
    <form
      className="row"
      aria-label={`Pick ${task.lot} at ${task.location}`}
      onSubmit={(event) => {
        event.preventDefault();
        const given = value.trim();
        if (!given) return;
        setTold(null);
        const body = scanning ? { barcode: given } : { count: Number(given) };
        void action
          .run(async () => {
            const now = await rest<PickTask>("POST", `/api/v1/pick-tasks/${encodeURIComponent(task.id)}/scan`, body);
            setValue("");
            setTold(`Picked ${now.picked} of ${now.quantity}.`);
            picked(now);
          })
          .then(() => {
            // a refused barcode stays to be read, selected: the next scan types over it
            field.current?.focus();
            field.current?.select();
          });
      }}
    >
      <label htmlFor={fieldId} style={{ flex: "1 1 18rem" }}>
        {scanning ? "Barcode (scan, or type and press Enter)" : "Units counted (no GTIN to scan)"}
      </label>
      <input
        id={fieldId}
        ref={field}
        style={{ flex: "1 1 18rem" }}
        value={value}
        onChange={(event) => setValue(event.target.value)}
        autoComplete="off"
        autoCapitalize="off"
        spellCheck={false}
        {...(scanning
          ? { placeholder: `(01)${task.gtin}(17)…(10)${task.lot}(21)…`, enterKeyHint: "done" as const }
          : { type: "number", min: 1, max: task.quantity - task.picked, inputMode: "numeric" as const })}
      />
      <button type="submit" disabled={action.busy}>
        {scanning ? "Confirm unit" : "Confirm count"}
      </button>
      <div className="ops-result" style={{ flexBasis: "100%" }}>
        <ProblemAlert error={action.error} />
        {told ? (
          <p role="status" className="notice">
            {told}
          </p>
        ) : null}
      </div>
    </form>
  );
}

function CloseShort({ task, closed }: { task: PickTask; closed: (task: PickTask) => void }) {
  const action = useAction();
  return (
    <details>
      <summary>The shelf has no more?</summary>
      <ProblemAlert error={action.error} />
      <button
        type="button"
        className="secondary"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () =>
            closed(await rest<PickTask>("POST", `/api/v1/pick-tasks/${encodeURIComponent(task.id)}/short`)),
          )
        }
      >
        Close short at {task.picked} of {task.quantity}
      </button>
    </details>
  );
}

function TaskCard({
  task,
  name,
  first,
  changed,
}: {
  task: PickTask;
  name: string | undefined;
  first: boolean;
  changed: (task: PickTask) => void;
}) {
  return (
    <li className="card" data-task-id={task.id} aria-label={`Pick task ${task.lot} for order ${short(task.order_id)}`}>
      <p>
        <strong>{task.location}</strong> <span className="tag">{task.status}</span>
      </p>
      <dl className="facts">
        <dt>Order</dt>
        <dd>
          <Link href={`/ops/order/?id=${encodeURIComponent(task.order_id)}`}>
            <code>{short(task.order_id)}</code>
          </Link>
        </dd>
        <dt>Product</dt>
        <dd>
          {name ?? <code>{short(task.product_id)}</code>}
          {task.gtin ? <> · GTIN <code>{task.gtin}</code></> : " · no GTIN"}
        </dd>
        <dt>Lot</dt>
        <dd>
          {task.lot}
          {task.expires_on ? ` · expires ${task.expires_on}` : ""}
        </dd>
        <dt>Picked</dt>
        <dd data-testid="picked">
          {task.picked} of {task.quantity}
          {task.short ? ` · ${task.short} short` : ""}
        </dd>
      </dl>
      {task.status === "OPEN" ? (
        <>
          <ScanForm task={task} first={first} picked={changed} />
          <CloseShort task={task} closed={changed} />
        </>
      ) : null}
    </li>
  );
}

/** The task as it stands: a scan's answer or a later reading, whichever went further (a task
 * only moves on: units picked, then closed). */
function further(read: PickTask, answered: PickTask | undefined): PickTask {
  if (!answered) return read;
  if ((read.status === "OPEN") !== (answered.status === "OPEN")) return read.status === "OPEN" ? answered : read;
  return answered.picked + answered.short > read.picked + read.short ? answered : read;
}

function Picks() {
  const params = useSearchParams();
  const wave = params.get("wave");
  const order = params.get("order");
  const path = wave || order ? withQuery("/api/v1/pick-tasks", { wave_id: wave, order_id: order }) : null;
  const { data, error, reload } = useRest<PickTask[]>(path);
  const [fresh, setFresh] = useState<Record<string, PickTask>>({});
  // tasks are made as the wave's release reaches each order: look again until they are there
  const refresh = useCallback(() => void reload(), [reload]);
  usePolling(refresh, 4);

  const tasks = data?.map((task) => further(task, fresh[task.id])) ?? null;
  const names = useProductNames(tasks?.map((task) => task.product_id) ?? []);
  if (!path) return <p role="alert">Name a wave or an order: open its picks from the waves.</p>;
  const firstOpen = tasks?.find((task) => task.status === "OPEN")?.id;
  const left = tasks?.filter((task) => task.status === "OPEN").length ?? 0;
  return (
    <>
      <h1>
        Picks of {wave ? "wave" : "order"} <code>{short(wave ?? order ?? "")}</code>
      </h1>
      <p className="muted">
        <Link href="/ops/warehouse/">All waves</Link>
        {tasks ? ` · ${left} of ${tasks.length} tasks open` : ""}
      </p>
      <ProblemAlert error={error} />
      {tasks === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : tasks.length === 0 ? (
        <p aria-busy="true">No pick task yet: they are made as the wave&apos;s release reaches its orders.</p>
      ) : (
        <ul className="cards ops-cards" aria-label="Pick tasks">
          {tasks.map((task) => (
            <TaskCard
              key={task.id}
              task={task}
              name={names.get(task.product_id)}
              first={task.id === firstOpen}
              changed={(now) => setFresh((was) => ({ ...was, [now.id]: now }))}
            />
          ))}
        </ul>
      )}
    </>
  );
}

export default function PicksPage() {
  return (
    <Suspense fallback={<p aria-busy="true">Loading…</p>}>
      <Picks />
    </Suspense>
  );
}
