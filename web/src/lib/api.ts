// How the app talks to Orderly: REST and GraphQL on the same origin, with the signed-in
// user's token. A refusal arrives as RFC 9457 problem+json (REST) or as a GraphQL error with
// the same `code` in its extensions; both become an `ApiError` the pages show as it is.
import type { TypedDocumentString } from "@/graphql/generated";
import { clearTokens, readTokens, saveTokens } from "@/lib/tokens";

export type Problem = {
  status: number;
  code: string;
  title: string;
  detail?: string;
};

export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }

  get code(): string {
    return this.problem.code;
  }
}

type Tokens = { token: string; refreshToken: string; expiresIn: number };

const UNREACHABLE: Problem = {
  status: 0,
  code: "unreachable",
  title: "Orderly did not answer",
  detail: "Check the connection and try again.",
};

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Partial<Problem>;
    return {
      status: response.status,
      code: body.code ?? `http_${response.status}`,
      title: body.title ?? response.statusText,
      detail: body.detail,
    };
  } catch {
    return { status: response.status, code: `http_${response.status}`, title: response.statusText };
  }
}

let refreshing: Promise<boolean> | null = null;

/** A new access token from the refresh token, once however many requests ask at a time. */
function refreshed(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = readTokens()?.refreshToken;
    if (!refreshToken) return false;
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    }).catch(() => null);
    if (!response?.ok) {
      clearTokens();
      return false;
    }
    saveTokens((await response.json()) as Tokens);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const attempt = () => {
    const headers = new Headers(init.headers);
    // a caller's own token (an MFA enrolment's) wins over the stored one
    const token = readTokens()?.token;
    if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return fetch(path, { ...init, headers });
  };
  let response: Response;
  try {
    response = await attempt();
    if (response.status === 401 && (await refreshed())) response = await attempt();
  } catch {
    throw new ApiError(UNREACHABLE);
  }
  return response;
}

/** A REST call; its JSON answer, or `undefined` for 204. */
export async function rest<T>(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<T> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const response = await send(path, init);
  if (!response.ok) throw new ApiError(await problemOf(response));
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

type GraphQLError = { message: string; extensions?: { code?: string; status?: number } };

/** A GraphQL operation from `operations.graphql`, typed by its generated document. */
export async function graphql<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await send("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  if (!response.ok) throw new ApiError(await problemOf(response));
  const answer = (await response.json()) as { data?: TResult; errors?: GraphQLError[] };
  const error = answer.errors?.[0];
  if (error) {
    throw new ApiError({
      status: error.extensions?.status ?? 400,
      code: error.extensions?.code ?? "graphql_error",
      title: error.message,
    });
  }
  return answer.data as TResult;
}
