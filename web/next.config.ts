import type { NextConfig } from "next";

// A static export: Orderly's own process serves `out/` at `/`, so the app needs no server
// of its own. Pages that show one record take its id from the query string.
const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
