"use client";
// One order: its status as it moves (a GraphQL subscription), its history, payments and
// shipments; cancel it before it ships, or put its lines in the cart again.
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { SignedIn } from "@/components/SignedIn";
import { Status, isCancellable, isFinal } from "@/components/Status";
import {
  AddToCartDocument,
  CancelOrderDocument,
  type OrderViewFragment,
  WatchOrderDocument,
} from "@/graphql/generated";
import { graphql } from "@/lib/api";
import { subscribe } from "@/lib/live";

function OrderView() {
  const id = useSearchParams().get("id") ?? "";
  const router = useRouter();
  const [order, setOrder] = useState<OrderViewFragment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // the order as it is now, then again each time its status changes
  useEffect(() => {
    return subscribe(WatchOrderDocument, { id }, {
      next: (data) => setOrder(data.orderStatus),
      error: (code) => {
        if (code !== "closed") setError(new Error(code));
      },
    });
  }, [id]);

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (refusal) {
      setError(refusal);
    } finally {
      setBusy(false);
    }
  }

  if (!order) return error ? <ProblemAlert error={error} /> : <p aria-busy="true">Loading…</p>;
  const address = order.shippingAddress as Record<string, string> | null;
  return (
    <>
      <h1>
        Order <code>{order.id.slice(0, 8)}</code> <Status status={order.status} />
      </h1>
      <ProblemAlert error={error} />
      <Waiting status={order.status} failure={order.failure} />
      <div className="grid-2">
        <section className="panel">
          <dl className="facts">
            <dt>Placed</dt>
            <dd>{new Date(order.createdAt).toLocaleString()}</dd>
            <dt>Channel</dt>
            <dd>{order.channel}</dd>
            <dt>Total</dt>
            <dd data-testid="order-total">
              <Money amount={order.totalAmount} currency={order.currency} />
            </dd>
            {order.salesOrderNumber && (
              <>
                <dt>Sales order</dt>
                <dd>{order.salesOrderNumber}</dd>
              </>
            )}
            {address && (
              <>
                <dt>Ship to</dt>
                <dd>
                  {[address.name, address.line1, address.city, address.postal_code ?? address.postalCode, address.country]
                    .filter(Boolean)
                    .join(", ")}
                </dd>
              </>
            )}
          </dl>
          <div className="row" style={{ marginTop: "1rem" }}>
            {isCancellable(order.status) && (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() =>
                  void act(async () => setOrder((await graphql(CancelOrderDocument, { id: order.id })).cancelOrder))
                }
              >
                Cancel order
              </button>
            )}
            {isFinal(order.status) || order.status.toLowerCase() === "shipped" ? (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    for (const line of order.items)
                      await graphql(AddToCartDocument, { productId: line.productId, quantity: line.quantity });
                    router.push("/cart/");
                  })
                }
              >
                Order again
              </button>
            ) : null}
          </div>
        </section>
        <section className="panel">
          <h2>History</h2>
          <ol className="timeline" aria-label="History">
            {order.history.map((entry, index) => (
              <li key={index}>
                <Status status={entry.status} /> <span className="muted">{new Date(entry.at).toLocaleString()}</span>
              </li>
            ))}
          </ol>
        </section>
      </div>
      <h2>Lines</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Product</th>
              <th className="num">Quantity</th>
              <th className="num">Unit price</th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((line) => (
              <tr key={line.productId}>
                <td>
                  <Link href={`/product/?id=${encodeURIComponent(line.productId)}`}>
                    {line.product?.name ?? line.productId}
                  </Link>
                </td>
                <td className="num">{line.quantity}</td>
                <td className="num">
                  <Money amount={line.unitPrice} currency={order.currency} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {order.payments.length > 0 && (
        <>
          <h2>Payments</h2>
          <ul>
            {order.payments.map((payment) => (
              <li key={payment.paymentId}>
                <Money amount={payment.amount} currency={payment.currency} /> {payment.status}
                {payment.reason ? ` (${payment.reason})` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Shipments</h2>
      {order.shipments.length === 0 ? (
        <p className="muted">Not shipped yet.</p>
      ) : (
        <ul aria-label="Shipments">
          {order.shipments.map((shipment) => (
            <li key={shipment.id}>
              {shipment.status}
              {shipment.carrier ? ` · ${shipment.carrier}` : ""}
              {shipment.trackingNumber ? ` · tracking ${shipment.trackingNumber}` : ""}
              {shipment.dc ? ` · from ${shipment.dc}` : ""}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

type Failure = { step?: string; reason?: string; detail?: string };

/** What an order that has stopped waits for, or why it failed, in its buyer's words. */
function Waiting({ status, failure }: { status: string; failure: unknown }) {
  const key = status.toLowerCase();
  if (key === "awaiting_approval")
    return (
      <p className="notice" data-testid="waiting">
        Above your account&apos;s approval threshold: it waits for an approver of your account.
      </p>
    );
  if (key === "on_hold")
    return (
      <p className="notice" data-testid="waiting">
        Held for a compliance review of controlled substances. It is not changed meanwhile: a
        reviewer releases it, or reports and cancels it.
      </p>
    );
  if (key === "failed" && failure) {
    const why = failure as Failure;
    return (
      <div role="alert" className="alert" data-code={why.reason}>
        <strong>It could not be completed{why.step ? ` (${why.step})` : ""}.</strong>
        {why.detail ? <p>{why.detail}</p> : null}
        <small>code: {why.reason}</small>
      </div>
    );
  }
  return null;
}

export default function OrderPage() {
  return (
    <SignedIn>
      {() => (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <OrderView />
        </Suspense>
      )}
    </SignedIn>
  );
}
