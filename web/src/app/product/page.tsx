"use client";
// Seed 000's product page: catalog data, the buyer's own price and its source, and what is
// available to promise, from one GraphQL query.
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { SignedIn } from "@/components/SignedIn";
import { AddToCartDocument, ProductPageDocument, type ProductPageQuery } from "@/graphql/generated";
import { graphql } from "@/lib/api";

type Product = NonNullable<ProductPageQuery["product"]>;

const SOURCES: Record<string, string> = {
  "340b": "340B ceiling price",
  contract: "Your contract price",
  wac: "List price (WAC)",
};

function ProductView() {
  const params = useSearchParams();
  const id = params.get("id");
  const ndc = params.get("ndc");
  const [quantity, setQuantity] = useState(1);
  const [product, setProduct] = useState<Product | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    graphql(ProductPageDocument, { id, ndc, quantity })
      .then((answer) => {
        if (!live) return;
        setProduct(answer.product);
        setError(null);
      })
      .catch((refusal: unknown) => live && setError(refusal));
    return () => {
      live = false;
    };
  }, [id, ndc, quantity]);

  if (error && product === undefined) return <ProblemAlert error={error} />;
  if (product === undefined) return <p aria-busy="true">Loading…</p>;
  if (product === null) return <p role="alert">No such product.</p>;

  async function add(productId: string) {
    setBusy(true);
    setError(null);
    try {
      const { addToCart } = await graphql(AddToCartDocument, { productId, quantity });
      setAdded(addToCart.items.find((line) => line.productId === productId)?.quantity ?? quantity);
    } catch (refusal) {
      setError(refusal);
    } finally {
      setBusy(false);
    }
  }

  const atp = product.availability?.atp ?? 0;
  return (
    <article className="grid-2" data-testid="product-page">
      <section className="panel">
        <h1>{product.name}</h1>
        <p>{product.description}</p>
        <dl className="facts">
          {product.ndc && (
            <>
              <dt>NDC</dt>
              <dd data-testid="ndc">{product.ndc}</dd>
              <dt>NDC-11</dt>
              <dd>{product.ndc11}</dd>
            </>
          )}
          {product.gtin && (
            <>
              <dt>GTIN</dt>
              <dd>{product.gtin}</dd>
            </>
          )}
          <dt>SKU</dt>
          <dd>{product.sku}</dd>
          {product.strength && (
            <>
              <dt>Strength</dt>
              <dd>{product.strength}</dd>
            </>
          )}
          {product.dosageForm && (
            <>
              <dt>Form</dt>
              <dd>{product.dosageForm}</dd>
            </>
          )}
          {product.manufacturer && (
            <>
              <dt>Manufacturer</dt>
              <dd>{product.manufacturer}</dd>
            </>
          )}
          {product.deaSchedule && (
            <>
              <dt>DEA schedule</dt>
              <dd>
                <span className="tag tag-controlled">{product.deaSchedule}</span>
              </dd>
            </>
          )}
        </dl>
      </section>
      <section className="panel stack" aria-label="Price and availability">
        {product.price ? (
          <div>
            <div className="price" data-testid="price">
              <Money amount={product.price.amount} currency={product.price.currency} />
            </div>
            <div data-testid="price-source" data-source={product.price.source}>
              {SOURCES[product.price.source] ?? product.price.source}
              {product.price.contractId ? ` · contract ${product.price.contractId}` : ""}
            </div>
            {product.listPrice && product.price.source !== "wac" ? (
              <div className="muted">
                List <Money amount={product.listPrice} />
              </div>
            ) : null}
          </div>
        ) : (
          <p className="muted">No price for your account.</p>
        )}
        <div data-testid="availability">
          {product.availability === null ? (
            <span className="muted">Availability unknown just now</span>
          ) : atp > 0 ? (
            <strong>{atp} available</strong>
          ) : (
            <strong>Out of stock</strong>
          )}
          {product.availability?.dcs.length ? (
            <ul className="muted">
              {product.availability.dcs.map((dc) => (
                <li key={dc.dc}>
                  {dc.dc}: {dc.atp}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <form
          className="row"
          onSubmit={(event) => {
            event.preventDefault();
            void add(product.id);
          }}
        >
          <label>
            Quantity
            <input
              type="number"
              min={1}
              max={1000000}
              value={quantity}
              onChange={(event) => setQuantity(Math.max(1, Number(event.target.value) || 1))}
              style={{ width: "7rem" }}
            />
          </label>
          <button type="submit" disabled={busy || atp === 0}>
            Add to cart
          </button>
        </form>
        <ProblemAlert error={error} />
        {added !== null && (
          <p className="notice" role="status">
            {added} in your cart. <Link href="/cart/">Go to the cart</Link>
          </p>
        )}
      </section>
    </article>
  );
}

export default function ProductPage() {
  return (
    <SignedIn>
      {() => (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <ProductView />
        </Suspense>
      )}
    </SignedIn>
  );
}
