// One GraphQL subscription over graphql-transport-ws, the protocol Orderly's `/graphql`
// speaks: the token goes in `connection_init`, each `next` carries the subscription's data.
import type { TypedDocumentString } from "@/graphql/generated";
import { readTokens } from "@/lib/tokens";

type Handlers<TResult> = {
  next: (data: TResult) => void;
  error: (code: string) => void;
};

/** Starts the subscription; the function it returns stops it. */
export function subscribe<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  handlers: Handlers<TResult>,
): () => void {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url, "graphql-transport-ws");
  const token = readTokens()?.token;
  socket.onopen = () => {
    const payload = token ? { Authorization: `Bearer ${token}` } : {};
    socket.send(JSON.stringify({ type: "connection_init", payload }));
  };
  socket.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as {
      type: string;
      payload?: { data?: TResult; errors?: { extensions?: { code?: string } }[] };
    };
    if (message.type === "connection_ack") {
      const payload = { query: document.toString(), variables };
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload }));
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (message.type === "next" && message.payload?.data) {
      handlers.next(message.payload.data);
    } else if (message.type === "next" || message.type === "error") {
      handlers.error(message.payload?.errors?.[0]?.extensions?.code ?? "subscription_failed");
    }
  };
  socket.onclose = (event) => {
    if (event.code !== 1000) handlers.error(event.code === 4403 ? "unauthenticated" : "closed");
  };
  return () => socket.close(1000);
}
