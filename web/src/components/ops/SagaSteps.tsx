// A saga's steps as operators read them: each one's status, attempts, timings and detail.
import { when } from "@/components/ops/useRest";

export type SagaStep = {
  name: string;
  status: string;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  deadline_at: string | null;
  detail: Record<string, unknown>;
};

export type Saga = {
  saga_id: string;
  kind: string;
  state: string;
  reason: string | null;
  steps: SagaStep[];
};

/** How long a step took (or has taken so far), in words a screen has room for. */
function took(step: SagaStep): string {
  if (!step.started_at) return "—";
  const end = step.finished_at ? Date.parse(step.finished_at) : Date.now();
  const ms = Math.max(0, end - Date.parse(step.started_at));
  const shown =
    ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
  return step.finished_at ? shown : `${shown} so far`;
}

export function SagaSteps({ saga, label }: { saga: Saga; label: string }) {
  return (
    <>
      <p>
        <span className={`tag step step-${saga.state}`} data-saga-state={saga.state}>
          {saga.state}
        </span>{" "}
        <span className="muted">{saga.kind}</span>
        {saga.reason ? <> · reason: <code>{saga.reason}</code></> : null}
      </p>
      <div className="table-wrap">
        <table aria-label={label}>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Attempts
              </th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
              <th scope="col">Deadline</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {saga.steps.map((step) => (
              <tr key={step.name}>
                <th scope="row">{step.name}</th>
                <td>
                  <span className={`tag step step-${step.status}`} data-step-status={step.status}>
                    {step.status}
                  </span>
                </td>
                <td className="num">{step.attempts}</td>
                <td>{when(step.started_at)}</td>
                <td>{took(step)}</td>
                <td>{step.finished_at ? "—" : when(step.deadline_at)}</td>
                <td>
                  {Object.keys(step.detail).length ? (
                    <code className="ops-detail">{JSON.stringify(step.detail)}</code>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
