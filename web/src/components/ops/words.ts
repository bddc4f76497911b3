// The words the order list filters on, as the orders show them: each flow names its states
// in its seed's words (`PLACED` is the guarded flow's, `confirmed` the b2c flow's).
export const STATUS_WORDS: { group: string; words: string[] }[] = [
  {
    group: "direct, guarded and b2b orders",
    words: [
      "PENDING",
      "AWAITING_APPROVAL",
      "ON_HOLD",
      "CONFIRMED",
      "PLACED",
      "PENDING_SHIPMENT",
      "SHIPPED",
      "DELIVERED",
      "CANCELLED",
      "PAYMENT_FAILED",
      "FAILED",
    ],
  },
  {
    group: "b2c orders",
    words: [
      "pending",
      "awaiting_approval",
      "on_hold",
      "confirmed",
      "processing",
      "shipped",
      "delivered",
      "cancelled",
      "payment_failed",
      "failed",
    ],
  },
];

export const CHANNELS = ["direct", "b2c", "guarded", "b2b"];

export type OrderSummary = {
  order_id: string;
  user_id: string;
  account_id?: string; // a B2B account's order
  status: string;
  channel: string;
  total_amount: string | null;
  currency: string | null;
  created_at: string;
  updated_at: string;
};
