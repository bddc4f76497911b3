"use client";
// Orders picked and waiting to be packed, one row per distribution centre: packed, the
// carrier takes the order at once (its shipment is then under Shipments).
import Link from "next/link";
import { useCallback, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { usePolling } from "@/components/ops/usePolling";
import { short, useAction, useRest, when } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type Pack = {
  order_id: string;
  dc: string;
  status: string;
  packages: number | null;
  created_at: string;
  packed_at: string | null;
  packed_by: string | null;
};

function PackForm({ pack, packed }: { pack: Pack; packed: (pack: Pack) => void }) {
  const action = useAction();
  const [parcels, setParcels] = useState("1");
  const fieldId = `parcels-${pack.order_id}-${pack.dc}`;
  return (
    <form
      className="row"
      aria-label={`Pack order ${short(pack.order_id)} at ${pack.dc}`}
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const body = { packages: Number(parcels), dc: pack.dc };
          await rest("POST", `/api/v1/pack-tasks/${encodeURIComponent(pack.order_id)}/complete`, body);
          packed(pack);
        });
      }}
    >
      <label htmlFor={fieldId}>Parcels</label>
      <input
        id={fieldId}
        type="number"
        min={1}
        max={1000}
        required
        value={parcels}
        onChange={(event) => setParcels(event.target.value)}
        style={{ width: "6rem" }}
      />
      <button type="submit" disabled={action.busy}>
        Packed
      </button>
      {action.error ? (
        <div style={{ flexBasis: "100%" }}>
          <ProblemAlert error={action.error} />
        </div>
      ) : null}
    </form>
  );
}

export default function PackingPage() {
  const [status, setStatus] = useState("OPEN");
  const [told, setTold] = useState<string | null>(null);
  const { data: packs, error, reload } = useRest<Pack[]>(`/api/v1/pack-tasks?status=${status}`);
  const refresh = useCallback(() => void reload(), [reload]);
  usePolling(refresh, 5);

  return (
    <>
      <h1>Packing</h1>
      <div className="panel row">
        <label>
          Show
          <select value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="OPEN">waiting to be packed</option>
            <option value="PACKED">packed</option>
            <option value="CANCELLED">cancelled</option>
          </select>
        </label>
      </div>
      {told ? (
        <p role="status" className="notice">
          {told}
        </p>
      ) : null}
      <ProblemAlert error={error} />
      {packs === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : packs.length === 0 ? (
        <p>{status === "OPEN" ? "Nothing waits to be packed." : "None."}</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Pack tasks">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Centre</th>
                <th scope="col">Picked</th>
                <th scope="col">{status === "OPEN" ? "Pack" : "Parcels"}</th>
              </tr>
            </thead>
            <tbody>
              {packs.map((pack) => (
                <tr key={`${pack.order_id}-${pack.dc}`} data-order-id={pack.order_id}>
                  <th scope="row">
                    <Link href={`/ops/order/?id=${encodeURIComponent(pack.order_id)}`}>
                      <code>{short(pack.order_id)}</code>
                    </Link>
                  </th>
                  <td>{pack.dc}</td>
                  <td>{when(pack.created_at)}</td>
                  <td>
                    {pack.status === "OPEN" ? (
                      <PackForm
                        pack={pack}
                        packed={(done) => {
                          setTold(`Order ${short(done.order_id)} is packed at ${done.dc}: the carrier takes it next.`);
                          void reload();
                        }}
                      />
                    ) : (
                      <>
                        {pack.packages ?? "—"}{" "}
                        {pack.packed_at ? <span className="muted">{when(pack.packed_at)}</span> : null}
                      </>
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
