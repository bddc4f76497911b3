"use client";
// Orders suspicious order monitoring held for an analyst: release one with the diligence
// done, or report it (pharma rules §6). Either needs a note; the decision is compliance's
// audit record.
import Link from "next/link";
import { useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { type Action, short, useAction, useRest, when, withQuery } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type Hold = {
  id: string;
  order_id: string;
  run: number;
  account_id: string;
  rule: string;
  detail: string;
  status: string;
  som: Record<string, unknown>;
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
};

const STATUSES = ["open", "released", "reported", "voided"];

function Decide({ hold, action, decided }: { hold: Hold; action: Action; decided: (word: string) => void }) {
  const [note, setNote] = useState("");
  return (
    <form
      className="stack"
      aria-label={`Decide on the hold of order ${short(hold.order_id)}`}
      onSubmit={(event) => {
        event.preventDefault();
        const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
        const verb = submitter?.value === "report" ? "report" : "release";
        void action
          .run(async () => {
            await rest("POST", `/api/v1/compliance/holds/${encodeURIComponent(hold.id)}/${verb}`, { note });
          })
          .then((done) => done && decided(verb === "report" ? "reported" : "released"));
      }}
    >
      <label>
        Diligence note
        <textarea
          required
          rows={3}
          maxLength={4000}
          value={note}
          onChange={(event) => setNote(event.target.value)}
          placeholder="What was checked, with whom, and what it showed"
        />
      </label>
      <div className="row">
        <button type="submit" value="release" disabled={action.busy}>
          Release
        </button>
        <button type="submit" value="report" className="secondary danger" disabled={action.busy}>
          Report to DEA
        </button>
      </div>
    </form>
  );
}

function HoldCard({ hold, decided }: { hold: Hold; decided: (word: string) => void }) {
  const action = useAction();
  return (
    <li className="card" data-hold-id={hold.id} aria-label={`Hold of order ${short(hold.order_id)}`}>
      <p>
        Order{" "}
        <Link href={`/ops/order/?id=${encodeURIComponent(hold.order_id)}`}>
          <code>{short(hold.order_id)}</code>
        </Link>{" "}
        · account <strong>{hold.account_id}</strong> <span className="tag">{hold.status}</span>
      </p>
      <p>
        <code>{hold.rule}</code>: {hold.detail}
      </p>
      <dl className="facts">
        {Object.entries(hold.som).map(([name, value]) => (
          <div key={name} className="ops-fact">
            <dt>{name.replaceAll("_", " ")}</dt>
            <dd>{typeof value === "object" ? JSON.stringify(value) : String(value)}</dd>
          </div>
        ))}
        <div className="ops-fact">
          <dt>held</dt>
          <dd>{when(hold.created_at)}</dd>
        </div>
      </dl>
      {hold.status === "open" ? (
        <>
          <ProblemAlert error={action.error} />
          <Decide hold={hold} action={action} decided={decided} />
        </>
      ) : (
        <p>
          {hold.status} {when(hold.decided_at)}
          {hold.decided_by ? (
            <>
              {" "}
              by <code>{short(hold.decided_by)}</code>
            </>
          ) : null}
          {hold.note ? <> · “{hold.note}”</> : null}
        </p>
      )}
    </li>
  );
}

export default function HoldsPage() {
  const [status, setStatus] = useState("open");
  const [told, setTold] = useState<string | null>(null);
  const { data: holds, error, reload } = useRest<Hold[]>(
    withQuery("/api/v1/compliance/holds", { status: status || null }),
  );
  return (
    <>
      <h1>Compliance holds</h1>
      <p className="muted">
        Suspicious order monitoring holds an order until an analyst releases it (diligence done: it goes on) or
        reports it (it is cancelled, never shipped). Oldest first.
      </p>
      <div className="panel row">
        <label>
          Holds
          <select value={status} onChange={(event) => setStatus(event.target.value)}>
            {STATUSES.map((word) => (
              <option key={word} value={word}>
                {word}
              </option>
            ))}
            <option value="">all</option>
          </select>
        </label>
      </div>
      {told ? (
        <p role="status" className="notice">
          {told}
        </p>
      ) : null}
      <ProblemAlert error={error} />
      {holds === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : holds.length === 0 ? (
        <p>No {status} hold.</p>
      ) : (
        <ul className="cards ops-cards" aria-label="Holds">
          {holds.map((hold) => (
            <HoldCard
              key={hold.id}
              hold={hold}
              decided={(word) => {
                const what = word === "released" ? "released: it goes on" : "reported: it is cancelled";
                setTold(`The hold of order ${short(hold.order_id)} is ${what}.`);
                void reload();
              }}
            />
          ))}
        </ul>
      )}
    </>
  );
}
