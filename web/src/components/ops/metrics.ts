// Reading Orderly's `/metrics` (Prometheus's text format) in the browser: the families the
// process declares and each sample's value, and per-minute rates from two readings.
import { ApiError, rest } from "@/lib/api";
import { readTokens } from "@/lib/tokens";

export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Exposition = { declared: Set<string>; samples: Sample[] };

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const declared = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      declared.add(line.split(" ")[2] ?? "");
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const name = brace === -1 ? line.split(" ")[0] ?? "" : line.slice(0, brace);
    const tail = brace === -1 ? line.slice(name.length) : line.slice(close + 1);
    const value = Number(tail.trim().split(" ")[0]);
    const labels: Record<string, string> = {};
    if (brace !== -1) {
      for (const match of line.slice(brace + 1, close).matchAll(LABEL)) {
        labels[match[1] ?? ""] = (match[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      }
    }
    if (Number.isFinite(value)) samples.push({ name, labels, value });
  }
  return { declared, samples };
}

export type Grouping = {
  states?: string[]; // only the samples whose `state` label is one of these
  group?: (value: string) => string; // series named by this of the label's value
  largest?: boolean; // a series is its samples' largest value, not their sum
};

/** A family's samples summed (or their largest), by the value of one of their labels ("" for
 * none). */
export function sumBy(
  exposition: Exposition,
  name: string,
  label: string | null,
  grouping: Grouping = {},
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of exposition.samples) {
    if (sample.name !== name) continue;
    if (grouping.states && !grouping.states.includes(sample.labels.state ?? "")) continue;
    const value = label ? sample.labels[label] ?? "" : "";
    const key = grouping.group ? grouping.group(value) : value;
    const before = sums.get(key);
    const combined =
      before === undefined ? sample.value : grouping.largest ? Math.max(before, sample.value) : before + sample.value;
    sums.set(key, combined);
  }
  return sums;
}

async function fetchMetrics(): Promise<Response> {
  const token = readTokens()?.token;
  return fetch("/metrics", { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** `/metrics` as this process serves it, read with the operator's token. */
export async function readMetrics(): Promise<Exposition> {
  let response = await fetchMetrics().catch(() => null);
  if (response?.status === 401) {
    // an expired token: any REST call refreshes it (rest() does), then ask again
    await rest("GET", "/api/v1/auth/session").catch(() => undefined);
    response = await fetchMetrics().catch(() => null);
  }
  if (!response) {
    throw new ApiError({ status: 0, code: "unreachable", title: "Orderly did not answer" });
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { code?: string; title?: string; detail?: string };
    throw new ApiError({
      status: response.status,
      code: body.code ?? `http_${response.status}`,
      title: body.title ?? response.statusText,
      detail: body.detail,
    });
  }
  return parseExposition(await response.text());
}
