// Orderly's order statuses as a buyer reads them. Each flow answers in its seed's words
// (`PENDING_SHIPMENT` for seed 001's direct orders, `processing` for the others), so a
// status is looked up without regard to case.
const WORDS: Record<string, string> = {
  pending: "Pending",
  pending_shipment: "Pending shipment",
  confirmed: "Confirmed",
  processing: "Processing",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
  payment_failed: "Payment failed",
  awaiting_approval: "Awaiting approval",
  on_hold: "On hold",
  failed: "Failed",
};

const FINAL = new Set(["delivered", "cancelled", "payment_failed", "failed"]);
const CANCELLABLE = new Set([
  "pending",
  "pending_shipment",
  "confirmed",
  "processing",
  "awaiting_approval",
  "failed",
]);

/** Its last status: delivered, cancelled or failed. */
export const isFinal = (status: string) => FINAL.has(status.toLowerCase());

/** A status its buyer may still cancel from (ordering has the last word). */
export const isCancellable = (status: string) => CANCELLABLE.has(status.toLowerCase());

export function Status({ status }: { status: string }) {
  const key = status.toLowerCase();
  const word = WORDS[key] ?? key.charAt(0).toUpperCase() + key.slice(1).replaceAll("_", " ");
  return (
    <span className={`status status-${key}`} data-status={key}>
      {word}
    </span>
  );
}
