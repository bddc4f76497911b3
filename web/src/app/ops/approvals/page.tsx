"use client";
// Orders waiting for an approver. Only an approver of the order's own account decides on it
// (never its buyer, never an operator: `not_an_approver`), so operators see the list here,
// read-only: which accounts have orders waiting, and since when.
import Link from "next/link";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { Status } from "@/components/Status";
import { short, useRest, when, withQuery } from "@/components/ops/useRest";
import type { OrderSummary } from "@/components/ops/words";

export default function ApprovalsPage() {
  const { data: orders, error } = useRest<OrderSummary[]>(
    withQuery("/api/v1/orders", {
      status: ["AWAITING_APPROVAL", "awaiting_approval"],
      sort: "created_at",
      limit: "200",
    }),
  );
  return (
    <>
      <h1>Approvals waiting</h1>
      <p className="notice" data-testid="read-only">
        Read-only: an order above its account&apos;s approval threshold is approved or rejected by an approver of
        that account, in the pharmacy&apos;s own app. Operators cannot decide on it; they see here what waits, oldest
        first.
      </p>
      <ProblemAlert error={error} />
      {orders === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : orders.length === 0 ? (
        <p>No order is waiting for approval.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Orders waiting for approval">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Waiting since</th>
                <th scope="col">Channel</th>
                <th scope="col">State</th>
                <th scope="col">Placed by</th>
                <th scope="col" className="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr key={order.order_id}>
                  <th scope="row">
                    <Link href={`/ops/order/?id=${encodeURIComponent(order.order_id)}`}>
                      <code>{short(order.order_id)}</code>
                    </Link>
                  </th>
                  <td>{when(order.updated_at)}</td>
                  <td>{order.channel}</td>
                  <td>
                    <Status status={order.status} />
                  </td>
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
    </>
  );
}
