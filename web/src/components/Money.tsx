/** An amount as Orderly sends it (a decimal string), in its currency. */
export function Money({ amount, currency }: { amount: string | null; currency?: string | null }) {
  if (amount === null) return <span>—</span>;
  const value = Number(amount);
  const shown = Number.isFinite(value)
    ? new Intl.NumberFormat("en-US", { style: "currency", currency: currency ?? "USD" }).format(value)
    : amount;
  return <span className="money">{shown}</span>;
}
