"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";

import { Money } from "@/components/Money";
import { ProblemAlert } from "@/components/ProblemAlert";
import { SignedIn } from "@/components/SignedIn";
import { ProductsDocument, type ProductsQuery } from "@/graphql/generated";
import { graphql } from "@/lib/api";

const PAGE = 24;

function Search() {
  const params = useSearchParams();
  const router = useRouter();
  const query = params.get("q") ?? "";
  const [text, setText] = useState(query);
  const [found, setFound] = useState<ProductsQuery["products"] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    setError(null);
    graphql(ProductsDocument, { search: query || null, limit: PAGE, offset: 0 })
      .then((answer) => live && setFound(answer.products))
      .catch((refusal: unknown) => live && setError(refusal));
    return () => {
      live = false;
    };
  }, [query]);

  return (
    <>
      <h1>Products</h1>
      <form
        role="search"
        className="row panel"
        onSubmit={(event) => {
          event.preventDefault();
          router.push(text.trim() ? `/?q=${encodeURIComponent(text.trim())}` : "/");
        }}
      >
        <label style={{ flex: "1 1 16rem" }}>
          Search by NDC (any format), GTIN or name
          <input
            type="search"
            name="q"
            value={text}
            onChange={(event) => setText(event.target.value)}
            placeholder="0591-0369-01, 00591036901 or loxapine"
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <ProblemAlert error={error} />
      {found === null && !error ? <p aria-busy="true">Loading…</p> : null}
      {found?.length === 0 ? <p>No product matches “{query}”.</p> : null}
      <ul className="cards" aria-label="Products found">
        {found?.map((product) => (
          <li key={product.id} className="card">
            <Link href={`/product/?id=${encodeURIComponent(product.id)}`}>{product.name}</Link>
            <span className="muted">
              {product.ndc ? `NDC ${product.ndc}` : product.sku}
              {product.strength ? ` · ${product.strength}` : ""}
            </span>
            <span>
              {product.deaSchedule ? (
                <span className="tag tag-controlled">Schedule {product.deaSchedule.replace("C", "")}</span>
              ) : null}{" "}
              <span className="tag">
                {product.availability && product.availability.atp > 0
                  ? `${product.availability.atp} available`
                  : "Out of stock"}
              </span>
            </span>
            <span>
              List <Money amount={product.listPrice} />
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

export default function Home() {
  return (
    <SignedIn>
      {() => (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <Search />
        </Suspense>
      )}
    </SignedIn>
  );
}
