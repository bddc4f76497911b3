"use client";
// One order as operators follow it: its state and history, its checkout saga's steps (their
// attempts and timings), its fulfillment on the floor, and compliance's decisions.
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useCallback } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { Status } from "@/components/Status";
import { type Saga, SagaSteps } from "@/components/ops/SagaSteps";
import { useProductNames } from "@/components/ops/useProductNames";
import { usePolling } from "@/components/ops/usePolling";
import { type Loaded, short, useRest, when, withQuery } from "@/components/ops/useRest";
import { ApiError } from "@/lib/api";

type Order = {
  order_id: string;
  user_id: string;
  status: string;
  channel: string;
  total_amount: string | null;
  currency: string;
  items: { product_id: string; quantity: number; unit_price: string | null }[];
  shipping_address: Record<string, string>;
  created_at: string;
  history: { status: string; at: string; details: Record<string, unknown> }[];
  sales_order_number?: string | null;
  failure?: { step?: string; reason?: string; detail?: string } | null;
};

type Fulfillment = Saga & {
  shipments: {
    id: string;
    status: string;
    tracking_number: string | null;
    carrier: string | null;
  }[];
};

type Decision = {
  id: string;
  run: number;
  decision: string;
  rule: string | null;
  reason: string | null;
  detail: string | null;
  actor: string;
  at: string;
  voided_at: string | null;
};

/** A record some orders do not have (a direct order has no saga): "none" is no refusal. */
function absent(loaded: Loaded<unknown>, code: string): boolean {
  return loaded.error instanceof ApiError && loaded.error.code === code;
}

function OrderFacts({ order }: { order: Order }) {
  const address = order.shipping_address;
  const names = useProductNames(order.items.map((line) => line.product_id));
  return (
    <section className="panel" aria-labelledby="facts">
      <h2 id="facts">Order</h2>
      <dl className="facts">
        <dt>Placed</dt>
        <dd>{when(order.created_at)}</dd>
        <dt>Channel</dt>
        <dd>{order.channel}</dd>
        <dt>Placed by</dt>
        <dd>
          <code>{order.user_id}</code>
        </dd>
        <dt>Total</dt>
        <dd>
          <Money amount={order.total_amount} currency={order.currency} />
        </dd>
        {order.sales_order_number ? (
          <>
            <dt>Sales order</dt>
            <dd>{order.sales_order_number}</dd>
          </>
        ) : null}
        {order.failure ? (
          <>
            <dt>Failed at</dt>
            <dd data-testid="failure">
              {order.failure.step}: <code>{order.failure.reason}</code>
              {order.failure.detail ? <> · {order.failure.detail}</> : null}
            </dd>
          </>
        ) : null}
        <dt>Ship to</dt>
        <dd>
          {[address.line1, address.city, address.state, address.postal_code, address.country]
            .filter(Boolean)
            .join(", ")}
        </dd>
      </dl>
      <h3>Lines</h3>
      <ul>
        {order.items.map((line) => (
          <li key={line.product_id}>
            {line.quantity} × {names.get(line.product_id) ?? <code>{short(line.product_id)}</code>}{" "}
            {line.unit_price ? <Money amount={line.unit_price} currency={order.currency} /> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function History({ order }: { order: Order }) {
  return (
    <section className="panel" aria-labelledby="history">
      <h2 id="history">History</h2>
      <ol className="timeline" aria-label="History">
        {order.history.map((entry, index) => (
          <li key={index}>
            <Status status={entry.status} /> <span className="muted">{when(entry.at)}</span>
            {Object.keys(entry.details).length ? (
              <div>
                <code className="ops-detail">{JSON.stringify(entry.details)}</code>
              </div>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Decisions({ decisions }: { decisions: Decision[] }) {
  if (decisions.length === 0) return <p className="muted">Compliance decided nothing on this order.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Compliance decisions">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Run</th>
            <th scope="col">Decision</th>
            <th scope="col">Rule</th>
            <th scope="col">By</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((decision) => (
            <tr key={decision.id}>
              <td>{when(decision.at)}</td>
              <td>{decision.run}</td>
              <th scope="row">
                {decision.decision}
                {decision.voided_at ? <span className="tag"> voided</span> : null}
              </th>
              <td>{decision.rule ?? "—"}</td>
              <td>
                <code>{decision.actor === "system" ? "system" : short(decision.actor)}</code>
              </td>
              <td>{decision.detail ?? decision.reason ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OrderView() {
  const id = useSearchParams().get("id") ?? "";
  const path = encodeURIComponent(id);
  const order = useRest<Order>(id ? `/api/v1/orders/${path}` : null);
  const saga = useRest<Saga>(id ? `/api/v1/sagas/${path}` : null);
  const fulfillment = useRest<Fulfillment>(id ? `/api/v1/fulfillment/orders/${path}` : null);
  const decisions = useRest<Decision[]>(
    id ? withQuery("/api/v1/compliance/decisions", { order_id: id }) : null,
  );
  const { reload: reloadOrder } = order;
  const { reload: reloadSaga } = saga;
  const { reload: reloadFulfillment } = fulfillment;
  const refresh = useCallback(() => {
    void reloadOrder();
    void reloadSaga();
    void reloadFulfillment();
  }, [reloadOrder, reloadSaga, reloadFulfillment]);
  usePolling(refresh, 3);

  if (!id) return <p role="alert">No order named: open one from the order list.</p>;
  if (!order.data) return order.error ? <ProblemAlert error={order.error} /> : <p aria-busy="true">Loading…</p>;
  const shown = order.data;
  return (
    <>
      <h1>
        Order <code>{short(shown.order_id)}</code> <Status status={shown.status} />
      </h1>
      <p className="muted">
        <code>{shown.order_id}</code> · <Link href="/ops/">All orders</Link>
      </p>
      <div className="grid-2">
        <OrderFacts order={shown} />
        <History order={shown} />
      </div>
      <h2>Checkout saga</h2>
      {saga.data ? (
        <SagaSteps saga={saga.data} label="Checkout saga steps" />
      ) : absent(saga, "saga_not_found") ? (
        <p className="muted">This order&apos;s flow ({shown.channel}) runs no checkout saga.</p>
      ) : (
        <ProblemAlert error={saga.error} />
      )}
      <h2>Fulfillment</h2>
      {fulfillment.data ? (
        <>
          <SagaSteps saga={fulfillment.data} label="Fulfillment steps" />
          {fulfillment.data.shipments.length ? (
            <ul aria-label="Shipments">
              {fulfillment.data.shipments.map((shipment) => (
                <li key={shipment.id}>
                  Shipment <code>{short(shipment.id)}</code>: {shipment.status}
                  {shipment.carrier ? ` · ${shipment.carrier}` : ""}
                  {shipment.tracking_number ? ` · tracking ${shipment.tracking_number}` : ""}
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : absent(fulfillment, "saga_not_found") || absent(fulfillment, "shipment_not_found") ? (
        <p className="muted">Not on the warehouse floor (yet).</p>
      ) : (
        <ProblemAlert error={fulfillment.error} />
      )}
      <h2>Compliance</h2>
      {decisions.data ? <Decisions decisions={decisions.data} /> : <ProblemAlert error={decisions.error} />}
    </>
  );
}

export default function OperatorOrderPage() {
  return (
    <Suspense fallback={<p aria-busy="true">Loading…</p>}>
      <OrderView />
    </Suspense>
  );
}
