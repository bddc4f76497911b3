"""Backends for frontends: GraphQL for the web, REST aggregation for web and mobile.

They own no tables. They reach the contexts through a query-client port (`port.Contexts`):
in-process calls when the contexts are served by the same process, HTTP to each context's
service otherwise, with the caller's token forwarded, a timeout per call and a breaker per
context."""
