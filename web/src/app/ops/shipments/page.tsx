"use client";
// Shipments: those the carrier took wait for its word that they are delivered; a direct
// order's shipment is shipped by hand (an orchestrated one ships when it is packed).
import Link from "next/link";
import { useCallback, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { usePolling } from "@/components/ops/usePolling";
import { short, useAction, useRest, when, withQuery } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type Shipment = {
  id: string;
  order_id: string;
  part: number;
  dc: string | null;
  status: string;
  tracking_number: string | null;
  carrier: string | null;
  shipped_at: string | null;
  delivered_at: string | null;
  delivery_location: string | null;
  created_at: string;
};

const STATUSES = ["SHIPPED", "PENDING_SHIPMENT", "ON_HOLD", "DELIVERED", "CANCELLED"];

function Deliver({ shipment, done }: { shipment: Shipment; done: (text: string) => void }) {
  const action = useAction();
  const [where, setWhere] = useState("");
  const fieldId = `where-${shipment.id}`;
  return (
    <form
      className="row"
      aria-label={`Deliver shipment ${short(shipment.id)}`}
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const body = { delivery_location: where.trim() };
          await rest("POST", `/api/v1/shipments/${encodeURIComponent(shipment.id)}/deliver`, body);
          done(`Shipment ${short(shipment.id)} is delivered (${where.trim()}).`);
        });
      }}
    >
      <label htmlFor={fieldId}>Delivered where</label>
      <input
        id={fieldId}
        required
        maxLength={200}
        value={where}
        onChange={(event) => setWhere(event.target.value)}
        placeholder="Front desk"
      />
      <button type="submit" disabled={action.busy}>
        Delivered
      </button>
      {action.error ? (
        <div style={{ flexBasis: "100%" }}>
          <ProblemAlert error={action.error} />
        </div>
      ) : null}
    </form>
  );
}

function Ship({ shipment, done }: { shipment: Shipment; done: (text: string) => void }) {
  const action = useAction();
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  return (
    <form
      className="row"
      aria-label={`Ship shipment ${short(shipment.id)}`}
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const body = { carrier: carrier.trim(), tracking_number: tracking.trim() };
          await rest("POST", `/api/v1/shipments/${encodeURIComponent(shipment.id)}/ship`, body);
          done(`Shipment ${short(shipment.id)} is shipped with ${carrier.trim()}.`);
        });
      }}
    >
      <label>
        Carrier
        <input required maxLength={64} value={carrier} onChange={(event) => setCarrier(event.target.value)} />
      </label>
      <label>
        Tracking number
        <input required maxLength={64} value={tracking} onChange={(event) => setTracking(event.target.value)} />
      </label>
      <button type="submit" disabled={action.busy}>
        Shipped
      </button>
      {action.error ? (
        <div style={{ flexBasis: "100%" }}>
          <ProblemAlert error={action.error} />
        </div>
      ) : null}
    </form>
  );
}

export default function ShipmentsPage() {
  const [status, setStatus] = useState("SHIPPED");
  const [told, setTold] = useState<string | null>(null);
  const { data: shipments, error, reload } = useRest<Shipment[]>(
    withQuery("/api/v1/shipments", { status: status || null, limit: "200" }),
  );
  const refresh = useCallback(() => void reload(), [reload]);
  usePolling(refresh, 5);
  const done = (text: string) => {
    setTold(text);
    void reload();
  };

  return (
    <>
      <h1>Shipments</h1>
      <div className="panel row">
        <label>
          Show
          <select value={status} onChange={(event) => setStatus(event.target.value)}>
            {STATUSES.map((word) => (
              <option key={word} value={word}>
                {word}
              </option>
            ))}
            <option value="">all</option>
          </select>
        </label>
      </div>
      {told ? (
        <p role="status" className="notice">
          {told}
        </p>
      ) : null}
      <ProblemAlert error={error} />
      {shipments === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : shipments.length === 0 ? (
        <p>No shipment {status ? `is ${status}` : "yet"}.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Shipments">
            <thead>
              <tr>
                <th scope="col">Shipment</th>
                <th scope="col">Order</th>
                <th scope="col">Status</th>
                <th scope="col">Carrier</th>
                <th scope="col">Shipped</th>
                <th scope="col">Next</th>
              </tr>
            </thead>
            <tbody>
              {shipments.map((shipment) => (
                <tr key={shipment.id} data-order-id={shipment.order_id}>
                  <th scope="row">
                    <code>{short(shipment.id)}</code>
                    {shipment.part ? <span className="muted"> part {shipment.part}</span> : null}
                  </th>
                  <td>
                    <Link href={`/ops/order/?id=${encodeURIComponent(shipment.order_id)}`}>
                      <code>{short(shipment.order_id)}</code>
                    </Link>
                  </td>
                  <td>
                    <span className="tag">{shipment.status}</span>
                  </td>
                  <td>
                    {shipment.carrier ?? "—"}
                    {shipment.tracking_number ? <> · {shipment.tracking_number}</> : null}
                  </td>
                  <td>{when(shipment.shipped_at)}</td>
                  <td>
                    {shipment.status === "SHIPPED" ? (
                      <Deliver shipment={shipment} done={done} />
                    ) : shipment.status === "PENDING_SHIPMENT" ? (
                      <Ship shipment={shipment} done={done} />
                    ) : shipment.status === "DELIVERED" ? (
                      <span className="muted">
                        {when(shipment.delivered_at)}
                        {shipment.delivery_location ? ` · ${shipment.delivery_location}` : ""}
                      </span>
                    ) : (
                      "—"
                    )}
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
