"use client";
// The cart: its lines with the stock inventory holds for them, and its checkout with a saved
// address and payment method or new ones.
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

import { Countdown } from "@/components/Countdown";
import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { SignedIn } from "@/components/SignedIn";
import {
  type AddressInput,
  CartDocument,
  type CsosInput,
  type CartViewFragment,
  CheckOutCartDocument,
  SetCartQuantityDocument,
} from "@/graphql/generated";
import { graphql, rest } from "@/lib/api";
import { csosPayload, signWithKeyFile } from "@/lib/csos";
import type { Me } from "@/lib/session";

type SavedAddress = {
  addressId: string;
  label: string;
  name: string;
  line1: string;
  line2: string;
  city: string;
  state: string;
  postal_code: string;
  country: string;
};
type SavedMethod = { id: string; label: string; type: string };

const NEW = "new";

function CartView({ me }: { me: Me }) {
  const router = useRouter();
  const [cart, setCart] = useState<CartViewFragment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    graphql(CartDocument, {})
      .then((answer) => setCart(answer.cart))
      .catch(setError);
  }, []);

  // inventory takes a line's hold once it hears of it: until then, the cart is read again
  const waiting = cart?.items.some((line) => line.held < line.quantity && line.available > 0);
  useEffect(() => {
    if (!waiting) return;
    const again = window.setInterval(() => {
      graphql(CartDocument, {})
        .then((answer) => setCart(answer.cart))
        .catch(() => undefined);
    }, 3000);
    return () => window.clearInterval(again);
  }, [waiting]);

  async function work<T>(step: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError(null);
    try {
      return await step();
    } catch (refusal) {
      setError(refusal);
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  async function setQuantity(productId: string, quantity: number) {
    const answer = await work(() => graphql(SetCartQuantityDocument, { productId, quantity }));
    if (answer) setCart(answer.setCartQuantity);
  }

  async function checkOut(address: AddressInput, paymentMethod: string | null, csos: CsosInput | null) {
    // a shopper pays as they order (seed 002's flow); a pharmacy orders in its own (b2b)
    const channel = paymentMethod ? "b2c" : null;
    const answer = await work(() =>
      graphql(CheckOutCartDocument, { address, paymentMethod, channel, csos }),
    );
    if (answer) router.push(`/order/?id=${encodeURIComponent(answer.checkOutCart.orderId)}`);
  }

  if (!cart) return error ? <ProblemAlert error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <>
      <h1>Cart</h1>
      <ProblemAlert error={error} />
      {cart.items.length === 0 ? (
        <p>Your cart is empty.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Product</th>
                  <th className="num">Quantity</th>
                  <th className="num">Unit price</th>
                  <th className="num">Line total</th>
                  <th>Stock held</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {cart.items.map((line) => (
                  <tr key={line.productId} data-product={line.productId}>
                    <td>{line.name ?? line.productId}</td>
                    <td className="num">
                      <input
                        type="number"
                        aria-label={`Quantity of ${line.name ?? line.productId}`}
                        min={0}
                        defaultValue={line.quantity}
                        style={{ width: "6rem" }}
                        onBlur={(event) => {
                          const quantity = Number(event.target.value);
                          if (Number.isInteger(quantity) && quantity !== line.quantity)
                            void setQuantity(line.productId, quantity);
                        }}
                      />
                    </td>
                    <td className="num">
                      <Money amount={line.unitPrice} currency={cart.currency} />
                    </td>
                    <td className="num">
                      <Money amount={line.lineTotal} currency={cart.currency} />
                    </td>
                    <td data-testid="held">
                      {line.held >= line.quantity
                        ? "All held for you"
                        : `${line.held} of ${line.quantity} held; ${line.available} more available`}
                      {line.heldUntil && line.held > 0 ? (
                        <>
                          {" "}
                          for <Countdown until={line.heldUntil} />
                        </>
                      ) : null}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="secondary"
                        disabled={busy}
                        onClick={() => void setQuantity(line.productId, 0)}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th colSpan={3}>Total</th>
                  <td className="num" data-testid="cart-total">
                    <Money amount={cart.total} currency={cart.currency} />
                  </td>
                  <td colSpan={2} />
                </tr>
              </tfoot>
            </table>
          </div>
          <Checkout me={me} cart={cart} busy={busy} checkOut={checkOut} />
        </>
      )}
    </>
  );
}

type Account = {
  accountId: string;
  name: string;
  deaNumber: string;
  registeredAddress: Record<string, string> | null;
};

const REGISTERED = "registered";

function addressOf(saved: Record<string, string>): AddressInput {
  return {
    name: saved.name ?? "",
    line1: saved.line1 ?? "",
    line2: saved.line2 ?? "",
    city: saved.city ?? "",
    state: saved.state ?? "",
    postalCode: saved.postal_code ?? saved.postalCode ?? "",
    country: saved.country ?? "",
  };
}

function Checkout({
  me,
  cart,
  busy,
  checkOut,
}: {
  me: Me;
  cart: CartViewFragment;
  busy: boolean;
  checkOut: (address: AddressInput, paymentMethod: string | null, csos: CsosInput | null) => Promise<void>;
}) {
  const account = me.account as Account | null;
  const pharmacy = me.accountId !== null;
  const registered = account?.registeredAddress ?? null;
  const scheduleII = cart.items.some((line) => line.product?.deaSchedule === "CII");
  const [addresses, setAddresses] = useState<SavedAddress[]>([]);
  const [methods, setMethods] = useState<SavedMethod[]>([]);
  const [addressChoice, setAddressChoice] = useState(registered ? REGISTERED : NEW);
  const [methodChoice, setMethodChoice] = useState(NEW);

  useEffect(() => {
    rest<SavedAddress[]>("GET", `/api/v1/users/${encodeURIComponent(me.id)}/addresses`)
      .then((saved) => {
        setAddresses(saved);
        if (saved[0] && !registered) setAddressChoice(saved[0].addressId);
      })
      .catch(() => setAddresses([]));
    if (!pharmacy)
      rest<SavedMethod[]>("GET", "/api/v1/payment-methods")
        .then((saved) => {
          setMethods(saved);
          if (saved[0]) setMethodChoice(saved[0].id);
        })
        .catch(() => setMethods([]));
  }, [me.id, pharmacy, registered]);

  return (
    <form
      className="panel stack"
      aria-label="Checkout"
      onSubmit={(event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const text = (name: string) => String(form.get(name) ?? "").trim();
        const saved = addresses.find((a) => a.addressId === addressChoice);
        const address: AddressInput =
          addressChoice === REGISTERED && registered
            ? addressOf(registered)
            : saved
              ? addressOf(saved)
              : {
                  name: text("name"),
                  line1: text("line1"),
                  line2: text("line2"),
                  city: text("city"),
                  state: text("state"),
                  postalCode: text("postalCode"),
                  country: text("country").toUpperCase(),
                };
        const method = pharmacy ? null : methodChoice === NEW ? text("token") : methodChoice;
        const csos = scheduleII
          ? { orderNumber: text("csosOrderNumber"), signature: text("csosSignature") }
          : null;
        void checkOut(address, method, csos);
      }}
    >
      <h2>Checkout</h2>
      <fieldset className="stack">
        <legend>Ship to</legend>
        {(addresses.length > 0 || registered) && (
          <label>
            Address
            <select value={addressChoice} onChange={(event) => setAddressChoice(event.target.value)}>
              {registered && (
                <option value={REGISTERED}>
                  {account?.name}, {registered.line1}, {registered.city} (registered with the DEA)
                </option>
              )}
              {addresses.map((a) => (
                <option key={a.addressId} value={a.addressId}>
                  {a.label || a.name || a.line1}, {a.city}
                </option>
              ))}
              <option value={NEW}>A new address</option>
            </select>
          </label>
        )}
        {pharmacy && addressChoice !== REGISTERED && (
          <p className="muted">Controlled substances ship only to the pharmacy&apos;s registered address.</p>
        )}
        {addressChoice === NEW && (
          <div className="grid-2">
            <label>
              Name
              <input name="name" autoComplete="name" />
            </label>
            <label>
              Street
              <input name="line1" autoComplete="address-line1" required />
            </label>
            <label>
              More (optional)
              <input name="line2" autoComplete="address-line2" />
            </label>
            <label>
              City
              <input name="city" autoComplete="address-level2" required />
            </label>
            <label>
              State
              <input name="state" autoComplete="address-level1" />
            </label>
            <label>
              Postal code
              <input name="postalCode" autoComplete="postal-code" required />
            </label>
            <label>
              Country
              <input name="country" autoComplete="country" defaultValue="US" required maxLength={2} />
            </label>
          </div>
        )}
      </fieldset>
      {pharmacy ? (
        <p className="muted">Billed to account {me.accountId} on its terms.</p>
      ) : (
        <fieldset className="stack">
          <legend>Pay with</legend>
          {methods.length > 0 && (
            <label>
              Payment method
              <select value={methodChoice} onChange={(event) => setMethodChoice(event.target.value)}>
                {methods.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.label || m.type}
                  </option>
                ))}
                <option value={NEW}>A new card</option>
              </select>
            </label>
          )}
          {methodChoice === NEW && (
            <label>
              Card token from the payment provider
              <input name="token" required pattern="tok_[A-Za-z0-9_]{1,60}" placeholder="tok_visa" />
            </label>
          )}
        </fieldset>
      )}
      {scheduleII && account && <CsosStep cart={cart} deaNumber={account.deaNumber} />}
      <button type="submit" disabled={busy}>
        Place order
      </button>
    </form>
  );
}

/** Schedule II lines need a CSOS-signed order (DEA Form 222's electronic form): the
 * purchaser's CSOS order number and a signature over the lines, pasted from their CSOS
 * software or made here with their key file. */
function CsosStep({ cart, deaNumber }: { cart: CartViewFragment; deaNumber: string }) {
  const [orderNumber, setOrderNumber] = useState("");
  const [signature, setSignature] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const payload = csosPayload(orderNumber, deaNumber, cart.items);

  async function sign(file: File) {
    setProblem(null);
    try {
      setSignature(await signWithKeyFile(await file.text(), payload));
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <fieldset className="stack">
      <legend>CSOS signature (schedule II)</legend>
      <p className="muted">
        This order has schedule II lines: sign it with the CSOS certificate registered with your
        account. A changed order needs a new signature.
      </p>
      <label>
        CSOS order number
        <input
          name="csosOrderNumber"
          required
          maxLength={20}
          value={orderNumber}
          onChange={(event) => {
            setOrderNumber(event.target.value.trim());
            setSignature("");
          }}
        />
      </label>
      <label>
        What is signed
        <input readOnly value={payload} data-testid="csos-payload" />
      </label>
      <label>
        Sign with your key file (PKCS #8 PEM; it stays in this browser)
        <input
          type="file"
          accept=".pem,.key"
          disabled={!orderNumber}
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void sign(file);
          }}
        />
      </label>
      {problem && (
        <p role="alert" className="alert">
          {problem}
        </p>
      )}
      <label>
        Signature (base64)
        <textarea
          name="csosSignature"
          required
          rows={3}
          value={signature}
          onChange={(event) => setSignature(event.target.value.trim())}
        />
      </label>
    </fieldset>
  );
}

export default function CartPage() {
  return <SignedIn>{(me) => <CartView me={me} />}</SignedIn>;
}
