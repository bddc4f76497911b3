"use client";
// The names of the products a page shows, read from the catalog in one request (at most a
// hundred ids, as the batch read takes).
import { useRest, withQuery } from "@/components/ops/useRest";

type Product = { id: string; name: string; sku: string };

export function useProductNames(ids: string[]): Map<string, string> {
  const wanted = [...new Set(ids)].sort().slice(0, 100);
  const { data } = useRest<Product[]>(wanted.length ? withQuery("/api/v1/products", { id: wanted }) : null);
  return new Map((data ?? []).map((product) => [product.id, product.name]));
}
