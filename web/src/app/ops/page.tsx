"use client";
// Every order, filtered by state, channel, account and when it was placed, a page at a time.
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { Status } from "@/components/Status";
import { short, useRest, when, withQuery } from "@/components/ops/useRest";
import { CHANNELS, type OrderSummary, STATUS_WORDS } from "@/components/ops/words";

const PAGE = 25;
const FIELDS = ["status", "channel", "account", "from", "to"] as const;
type Field = (typeof FIELDS)[number];

function Filters({ shown }: { shown: Record<Field, string> }) {
  const router = useRouter();
  const [draft, setDraft] = useState(shown);
  const set = (field: Field) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: event.target.value });

  return (
    <form
      className="panel ops-filters"
      aria-label="Filter orders"
      onSubmit={(event) => {
        event.preventDefault();
        const trimmed = { ...draft, account: draft.account.trim() };
        router.push(withQuery("/ops/", trimmed));
      }}
    >
      <label>
        State
        <select value={draft.status} onChange={set("status")}>
          <option value="">Any</option>
          {STATUS_WORDS.map(({ group, words }) => (
            <optgroup key={group} label={group}>
              {words.map((word) => (
                <option key={word} value={word}>
                  {word}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </label>
      <label>
        Channel
        <select value={draft.channel} onChange={set("channel")}>
          <option value="">Any</option>
          {CHANNELS.map((channel) => (
            <option key={channel} value={channel}>
              {channel}
            </option>
          ))}
        </select>
      </label>
      <label>
        Account
        <input value={draft.account} onChange={set("account")} placeholder="PH-45678" maxLength={36} />
      </label>
      <label>
        Placed from
        <input type="date" value={draft.from} onChange={set("from")} />
      </label>
      <label>
        Placed until
        <input type="date" value={draft.to} onChange={set("to")} />
      </label>
      <div className="row">
        <button type="submit">Filter</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft({ status: "", channel: "", account: "", from: "", to: "" });
            router.push("/ops/");
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function OrderList() {
  const params = useSearchParams();
  const router = useRouter();
  const shown = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? ""])) as Record<
    Field,
    string
  >;
  const page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  const path = withQuery("/api/v1/orders", {
    status: shown.status,
    channel: shown.channel,
    account: shown.account,
    created_from: shown.from,
    created_to: shown.to,
    limit: String(PAGE),
    offset: String(page * PAGE),
  });
  const { data: orders, error } = useRest<OrderSummary[]>(path);
  const turn = (to: number) => router.push(withQuery("/ops/", { ...shown, page: to ? String(to) : null }));

  return (
    <>
      <h1>Orders</h1>
      <Filters key={params.toString()} shown={shown} />
      <ProblemAlert error={error} />
      {orders === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : orders.length === 0 ? (
        <p>No order matches these filters.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Orders">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">Channel</th>
                <th scope="col">State</th>
                <th scope="col">Account</th>
                <th scope="col">Placed by</th>
                <th scope="col" className="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr key={order.order_id} data-order-id={order.order_id}>
                  <th scope="row">
                    <Link href={`/ops/order/?id=${encodeURIComponent(order.order_id)}`}>
                      <code>{short(order.order_id)}</code>
                    </Link>
                  </th>
                  <td>{when(order.created_at)}</td>
                  <td>{order.channel}</td>
                  <td>
                    <Status status={order.status} />
                  </td>
                  <td>{order.account_id ?? <span className="muted">—</span>}</td>
                  <td>
                    <code title={order.user_id}>{short(order.user_id)}</code>
                  </td>
                  <td className="num">
                    <Money amount={order.total_amount} currency={order.currency} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row ops-pages">
        <button type="button" className="secondary" disabled={page === 0} onClick={() => turn(page - 1)}>
          Newer
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!orders || orders.length < PAGE}
          onClick={() => turn(page + 1)}
        >
          Older
        </button>
      </div>
    </>
  );
}

export default function OperatorOrdersPage() {
  return (
    <Suspense fallback={<p aria-busy="true">Loading…</p>}>
      <OrderList />
    </Suspense>
  );
}
