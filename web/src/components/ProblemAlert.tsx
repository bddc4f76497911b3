import { ApiError } from "@/lib/api";

/** A refusal as Orderly gave it: its title, its detail and its stable code. */
export function ProblemAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const problem =
    error instanceof ApiError
      ? error.problem
      : { code: "client_error", title: "Something went wrong", detail: String(error) };
  return (
    <div role="alert" className="alert" data-code={problem.code}>
      <strong>{problem.title}</strong>
      {problem.detail && problem.detail !== problem.title ? <p>{problem.detail}</p> : null}
      <small>code: {problem.code}</small>
    </div>
  );
}
