"use client";
// Messages a consumer gave up on (tried as often as allowed, or a checkout that failed and is
// parked for a replay): inspect one, and hand it back to its consumer once the cause is fixed.
import { useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { short, useAction, useRest, when } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type DeadLetter = {
  id: string;
  context: string;
  consumer: string;
  message_id: string;
  type: string;
  attempts: number;
  error: string;
  failed_at: string;
  replayed_at: string | null;
};

type Inspected = DeadLetter & {
  message: {
    event_id: string;
    event_type: string;
    source: string;
    occurred_at: string;
    aggregate_id: string | null;
    correlation_id: string | null;
    data: Record<string, unknown>;
  };
};

function Inspect({ letter }: { letter: DeadLetter }) {
  const { data, error } = useRest<Inspected>(`/api/v1/admin/dead-letters/${encodeURIComponent(letter.id)}`);
  if (!data) return error ? <ProblemAlert error={error} /> : <p aria-busy="true">Loading…</p>;
  const message = data.message;
  return (
    <section className="panel" aria-label={`Dead letter ${short(letter.id)}`}>
      <dl className="facts">
        <dt>Message</dt>
        <dd>
          <code>{message.event_type}</code> from {message.source}, {when(message.occurred_at)}
        </dd>
        <dt>About</dt>
        <dd>
          <code>{message.aggregate_id ?? "—"}</code>
        </dd>
        <dt>Correlation</dt>
        <dd>
          <code>{message.correlation_id ?? "—"}</code>
        </dd>
        <dt>Error</dt>
        <dd>
          <code>{data.error}</code>
        </dd>
      </dl>
      <pre className="ops-json" aria-label="Message data">
        {JSON.stringify(message.data, null, 2)}
      </pre>
    </section>
  );
}

export default function DeadLettersPage() {
  const [all, setAll] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [told, setTold] = useState<string | null>(null);
  const action = useAction();
  const { data: letters, error, reload } = useRest<DeadLetter[]>("/api/v1/admin/dead-letters?limit=500");
  const shown = letters?.filter((letter) => all || !letter.replayed_at) ?? null;

  async function replay(letter: DeadLetter) {
    setTold(null);
    const done = await action.run(async () => {
      await rest("POST", `/api/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/replay`);
    });
    if (done) {
      setTold(`Dead letter ${short(letter.id)} (${letter.type}) is replayed: its consumer has it again.`);
      setOpen(null);
    }
    await reload();
  }

  return (
    <>
      <h1>Dead letters</h1>
      <p className="muted">
        A replayed message goes back to its consumer&apos;s queue at once; if it fails again it comes back here as a
        new dead letter.
      </p>
      <div className="panel row">
        <label className="ops-check">
          <input type="checkbox" checked={all} onChange={(event) => setAll(event.target.checked)} />
          Show replayed ones too
        </label>
        <button type="button" className="secondary" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      {told ? (
        <p role="status" className="notice">
          {told}
        </p>
      ) : null}
      <ProblemAlert error={error ?? action.error} />
      {shown === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : shown.length === 0 ? (
        <p>No dead letter waits for a replay.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Dead letters">
            <thead>
              <tr>
                <th scope="col">Dead letter</th>
                <th scope="col">Failed</th>
                <th scope="col">Message</th>
                <th scope="col">Consumer</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((letter) => (
                <tr key={letter.id} data-dead-letter-id={letter.id}>
                  <th scope="row">
                    <code>{short(letter.id)}</code>
                  </th>
                  <td>{when(letter.failed_at)}</td>
                  <td>
                    <code>{letter.type}</code>
                  </td>
                  <td>
                    <code className="ops-detail">{letter.consumer}</code>
                  </td>
                  <td className="num">{letter.attempts}</td>
                  <td>
                    <code className="ops-detail">{letter.error}</code>
                  </td>
                  <td>
                    <div className="row">
                      <button
                        type="button"
                        className="secondary"
                        aria-expanded={open === letter.id}
                        onClick={() => setOpen(open === letter.id ? null : letter.id)}
                      >
                        Inspect
                      </button>
                      {letter.replayed_at ? (
                        <span className="muted">replayed {when(letter.replayed_at)}</span>
                      ) : (
                        <button type="button" disabled={action.busy} onClick={() => void replay(letter)}>
                          Replay
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && shown?.some((letter) => letter.id === open) ? (
        <Inspect letter={shown.find((letter) => letter.id === open) as DeadLetter} />
      ) : null}
    </>
  );
}
