"use client";
import Link from "next/link";
import { useEffect, useState } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { SignedIn } from "@/components/SignedIn";
import { Status } from "@/components/Status";
import { OrdersDocument, type OrdersQuery } from "@/graphql/generated";
import { graphql } from "@/lib/api";

const PAGE = 25;

function OrderList() {
  const [page, setPage] = useState(0);
  const [orders, setOrders] = useState<OrdersQuery["orders"] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    graphql(OrdersDocument, { status: null, limit: PAGE, offset: page * PAGE })
      .then((answer) => setOrders(answer.orders))
      .catch(setError);
  }, [page]);

  if (!orders) return error ? <ProblemAlert error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <>
      <h1>Orders</h1>
      {orders.length === 0 && page === 0 ? (
        <p>
          No orders yet. <Link href="/">Find a product</Link>
        </p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Your orders">
            <thead>
              <tr>
                <th>Order</th>
                <th>Placed</th>
                <th>Status</th>
                <th className="num">Units</th>
                <th className="num">Total</th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr key={order.id}>
                  <td>
                    <Link href={`/order/?id=${encodeURIComponent(order.id)}`}>{order.id.slice(0, 8)}</Link>
                  </td>
                  <td>{new Date(order.createdAt).toLocaleString()}</td>
                  <td>
                    <Status status={order.status} />
                  </td>
                  <td className="num">{order.items.reduce((units, line) => units + line.quantity, 0)}</td>
                  <td className="num">
                    <Money amount={order.totalAmount} currency={order.currency} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row" style={{ marginTop: "0.75rem" }}>
        <button type="button" className="secondary" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <button
          type="button"
          className="secondary"
          disabled={orders.length < PAGE}
          onClick={() => setPage(page + 1)}
        >
          Older
        </button>
      </div>
    </>
  );
}

export default function OrdersPage() {
  return <SignedIn>{() => <OrderList />}</SignedIn>;
}
