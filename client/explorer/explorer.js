// The explorer: GraphiQL, served from this server (no CDN), with a field for the API key. The key
// is kept in this browser's localStorage only; queries go over HTTP, subscriptions over WebSocket.
(function () {
  "use strict";
  var STORAGE = "backorder.apiKey";
  var DEFAULT_QUERY = [
    "# Products with a backlog, their stock and the first customers in line.",
    "{",
    "  products(first: 5, filter: { hasBacklog: true }) {",
    "    nodes {",
    "      sku name",
    "      stock { onHand allocated available backordered incoming nextRestockAt }",
    "      backlog(first: 3) { nodes { position remaining expectedAt etaSource promisedAt delayed } }",
    "    }",
    "  }",
    "}",
    "",
    "# Live: run this and place an order in another tab.",
    "# subscription { backlogChanged { product { sku } backordered waitingOrders nextExpectedAt reason cursor } }",
    "",
  ].join("\n");

  // The page's Content-Security-Policy allows only styles with this response's nonce. GraphiQL's
  // dialogs add a <style> at run time (react-remove-scroll), which reads the nonce from here.
  var pageStyle = document.querySelector("style[nonce]");
  if (pageStyle && pageStyle.nonce) window.__webpack_nonce__ = pageStyle.nonce;

  var input = document.getElementById("key");
  var status = document.getElementById("status");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var wsClient = null;
  var generation = 0;

  function currentKey() {
    try {
      return localStorage.getItem(STORAGE) || "";
    } catch {
      return "";
    }
  }

  function render(key) {
    if (wsClient) wsClient.dispose();
    var authorization = key ? "Bearer " + key : undefined;
    wsClient = graphqlWs.createClient({
      url: location.origin.replace(/^http/, "ws") + "/graphql",
      connectionParams: authorization ? { authorization: authorization } : {},
      lazy: true,
      retryAttempts: 5,
    });
    var fetcher = GraphiQL.createFetcher({
      url: location.origin + "/graphql",
      headers: authorization ? { Authorization: authorization } : {},
      wsClient: wsClient,
    });
    status.textContent = key ? "" : "No key: requests will be refused (UNAUTHENTICATED).";
    generation += 1;
    root.render(
      React.createElement(GraphiQL, {
        key: generation, // a new key re-reads the schema
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        shouldPersistHeaders: false,
      }),
    );
  }

  function useKey() {
    var key = input.value.trim();
    try {
      localStorage.setItem(STORAGE, key);
    } catch {
      /* private mode: keep it for this page only */
    }
    render(key);
  }

  input.value = currentKey();
  document.getElementById("use-key").addEventListener("click", useKey);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") useKey();
  });
  render(input.value.trim());
})();
