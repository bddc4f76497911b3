"use client";
// Waves: open ones take orders until released to the floor (by an operator here, or by the
// schedule before the carrier's cut-off); a released wave's pick tasks are picked by scan.
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { usePolling } from "@/components/ops/usePolling";
import { short, useAction, useRest, when } from "@/components/ops/useRest";
import { rest } from "@/lib/api";

type Wave = {
  id: string;
  dc: string;
  zone: string;
  carrier: string;
  cutoff: string;
  status: string;
  orders: number;
  lines: number;
  units: number;
  opened_at: string;
  released_at: string | null;
  released_by: string | null;
};

function OpenWaves({ waves, released }: { waves: Wave[]; released: () => Promise<void> }) {
  const action = useAction();
  if (waves.length === 0) return <p>No open wave: confirmed orders join one as their fulfillment starts.</p>;
  return (
    <>
      <ProblemAlert error={action.error} />
      <div className="table-wrap">
        <table aria-label="Open waves">
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Lane</th>
              <th scope="col">Cut-off</th>
              <th scope="col" className="num">
                Orders
              </th>
              <th scope="col" className="num">
                Lines
              </th>
              <th scope="col" className="num">
                Units
              </th>
              <th scope="col">Release</th>
            </tr>
          </thead>
          <tbody>
            {waves.map((wave) => (
              <tr key={wave.id} data-wave-id={wave.id}>
                <th scope="row">
                  <code>{short(wave.id)}</code>
                </th>
                <td>
                  {wave.dc} · {wave.zone} · {wave.carrier}
                </td>
                <td>{when(wave.cutoff)}</td>
                <td className="num">{wave.orders}</td>
                <td className="num">{wave.lines}</td>
                <td className="num">{wave.units}</td>
                <td>
                  <button
                    type="button"
                    disabled={action.busy || wave.orders === 0}
                    aria-label={`Release wave ${short(wave.id)}`}
                    onClick={() =>
                      void action
                        .run(async () => {
                          await rest("POST", `/api/v1/waves/${encodeURIComponent(wave.id)}/release`);
                        })
                        .then(released)
                    }
                  >
                    Release
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ReleasedWaves({ waves }: { waves: Wave[] }) {
  if (waves.length === 0) return <p>No wave released yet.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Released waves">
        <thead>
          <tr>
            <th scope="col">Wave</th>
            <th scope="col">Lane</th>
            <th scope="col">Released</th>
            <th scope="col" className="num">
              Orders
            </th>
            <th scope="col" className="num">
              Units
            </th>
            <th scope="col">Picks</th>
          </tr>
        </thead>
        <tbody>
          {waves.map((wave) => (
            <tr key={wave.id} data-wave-id={wave.id}>
              <th scope="row">
                <code>{short(wave.id)}</code>
              </th>
              <td>
                {wave.dc} · {wave.zone} · {wave.carrier}
              </td>
              <td>{when(wave.released_at)}</td>
              <td className="num">{wave.orders}</td>
              <td className="num">{wave.units}</td>
              <td>
                <Link
                  href={`/ops/picks/?wave=${encodeURIComponent(wave.id)}`}
                  aria-label={`Pick wave ${short(wave.id)}`}
                >
                  Pick
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function FindPicks() {
  const router = useRouter();
  const [order, setOrder] = useState("");
  return (
    <form
      className="panel row"
      aria-label="Find an order's picks"
      onSubmit={(event) => {
        event.preventDefault();
        if (order.trim()) router.push(`/ops/picks/?order=${encodeURIComponent(order.trim())}`);
      }}
    >
      <label style={{ flex: "1 1 16rem" }}>
        An order&apos;s picks (its id)
        <input value={order} onChange={(event) => setOrder(event.target.value)} autoComplete="off" />
      </label>
      <button type="submit">Open its picks</button>
    </form>
  );
}

export default function WarehousePage() {
  const open = useRest<Wave[]>("/api/v1/waves?status=OPEN");
  const released = useRest<Wave[]>("/api/v1/waves?status=RELEASED&limit=20");
  const { reload: reloadOpen } = open;
  const { reload: reloadReleased } = released;
  const refresh = useCallback(async () => {
    await Promise.all([reloadOpen(), reloadReleased()]);
  }, [reloadOpen, reloadReleased]);
  usePolling(() => void refresh(), 5);

  return (
    <>
      <h1>Waves and picks</h1>
      <h2>Open waves</h2>
      <ProblemAlert error={open.error} />
      {open.data ? (
        <OpenWaves waves={open.data} released={refresh} />
      ) : open.error ? null : (
        <p aria-busy="true">Loading…</p>
      )}
      <h2>Released waves</h2>
      <ProblemAlert error={released.error} />
      {released.data ? (
        <ReleasedWaves waves={released.data} />
      ) : released.error ? null : (
        <p aria-busy="true">Loading…</p>
      )}
      <h2>Find picks</h2>
      <FindPicks />
    </>
  );
}
