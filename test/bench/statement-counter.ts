/**
 * Counts the SQL statements a server process sends to PostgreSQL, from outside the process: a
 * TCP proxy between the server and PostgreSQL that forwards every byte unchanged and reads the
 * frontend protocol on the way. Each Execute (extended protocol) or Query (simple protocol)
 * message is one statement; Parse and Bind tell which SQL text it runs.
 *
 * The server also has background work (the event hub stamps and reads the log, the delay sweep,
 * the cost-budget sync), which may land inside a counting window. Statements that touch the
 * event log, and the BEGIN/COMMIT around them, are counted apart as background, as is the
 * driver's one-time type look-up on a new connection, so a window counts what the request itself
 * cost. Each window also keeps every transaction and statement it saw in full, for callers that
 * draw the line elsewhere (a mutation's own transaction appends to the event log), and the proxy
 * knows how many connections the server holds open (its pool's size after a burst).
 */
import net from "node:net";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * SQL the event hub and other background work runs, never a query's resolvers: the event log,
 * advisory locks (the stamper, the pruning of old rows), NOTIFY and LISTEN, the cost-budget sync
 * (`cost_budgets`, every 250 ms), the delay sweep (marks backorders `delayed`); and postgres.js's
 * one-time look-up of array types on each new connection.
 */
const BACKGROUND = /\bevents\b|pg_try_advisory|pg_advisory|pg_notify|^\s*listen\b|^\s*unlisten\b|pg_catalog\.pg_type|"cost_budgets"|SET "delayed" = true/i;
const TRANSACTION_START = /^\s*(begin|start transaction)\b/i;
const TRANSACTION_END = /^\s*(commit|rollback|end)\b/i;
const LISTEN = /^\s*listen\b/i;

export interface StatementCount {
  /** Statements of the window that were not background. */
  statements: number;
  background: number;
  /** Each non-background statement's text, in the order sent (first 200 characters). */
  texts: string[];
  /**
   * Every transaction that ended in the window, background or not, each statement's full text
   * (whitespace collapsed), BEGIN and COMMIT included: e.g. to find the one a mutation ran, which
   * counts as background above because it appends to the event log.
   */
  transactions: string[][];
  /** Every statement of the window sent outside a transaction, background or not, full text. */
  outside: string[];
}

class Session {
  private buffer: Buffer = Buffer.alloc(0);
  private untyped = true;
  private readonly prepared = new Map<string, string>();
  private bound = "";
  /** Whether the session sent LISTEN: a listening connection, not one of the pool's. */
  listener = false;
  /** Statements of the open transaction, judged when it ends. */
  private transaction: { text: string; counted: boolean }[] | null = null;

  constructor(private readonly counter: StatementCounter) {}

  feed(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.untyped) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        // After SSLRequest or GSSENCRequest the startup message follows, also untyped.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.untyped = false;
        this.buffer = this.buffer.subarray(length);
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      this.message(String.fromCharCode(this.buffer[0]), this.buffer.subarray(5, 1 + length));
      this.buffer = this.buffer.subarray(1 + length);
    }
  }

  private message(type: string, body: Buffer): void {
    const cstring = (from: number) => {
      const end = body.indexOf(0, from);
      return { text: body.toString("utf8", from, end), next: end + 1 };
    };
    if (type === "P") {
      const name = cstring(0);
      this.prepared.set(name.text, cstring(name.next).text);
    } else if (type === "B") {
      const portal = cstring(0);
      this.bound = cstring(portal.next).text;
    } else if (type === "E") {
      this.statement(this.prepared.get(this.bound) ?? "");
    } else if (type === "Q") {
      this.statement(cstring(0).text);
    }
  }

  private statement(text: string): void {
    // Transactions are followed whether or not a window is open: one that straddles a window's
    // edge must still end, or every later statement of the session would be taken as inside it.
    const counted = this.counter.counting;
    if (LISTEN.test(text)) this.listener = true;
    if (TRANSACTION_START.test(text)) {
      this.transaction = [{ text, counted }];
      return;
    }
    if (this.transaction) {
      this.transaction.push({ text, counted });
      if (!TRANSACTION_END.test(text)) return;
      const statements = this.transaction;
      this.transaction = null;
      const background = statements.some((s) => BACKGROUND.test(s.text));
      for (const s of statements) if (s.counted) this.counter.tally(s.text, background);
      if (statements.some((s) => s.counted)) this.counter.transaction(statements.map((s) => s.text));
      return;
    }
    if (!counted) return;
    this.counter.tally(text, BACKGROUND.test(text));
    this.counter.single(text);
  }
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

export class StatementCounter {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  counting = false;
  private current: StatementCount = { statements: 0, background: 0, texts: [], transactions: [], outside: [] };
  private readonly sessions = new Set<Session>();

  constructor(private readonly upstream: { host: string; port: number }) {}

  /** Starts the proxy on a free port of 127.0.0.1; returns the port. */
  async listen(): Promise<number> {
    this.server = net.createServer((client) => {
      const session = new Session(this);
      this.sessions.add(session);
      const database = net.connect(this.upstream);
      client.setNoDelay(true);
      database.setNoDelay(true);
      this.sockets.add(client).add(database);
      client.on("data", (chunk: Buffer) => {
        database.write(chunk);
        session.feed(chunk);
      });
      database.pipe(client);
      const close = () => {
        this.sessions.delete(session);
        client.destroy();
        database.destroy();
        this.sockets.delete(client);
        this.sockets.delete(database);
      };
      client.on("close", close).on("error", close);
      database.on("close", close).on("error", close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  tally(text: string, background: boolean): void {
    if (background) this.current.background += 1;
    else {
      this.current.statements += 1;
      this.current.texts.push(collapse(text).slice(0, 200));
    }
  }

  transaction(texts: string[]): void {
    this.current.transactions.push(texts.map(collapse));
  }

  single(text: string): void {
    this.current.outside.push(collapse(text));
  }

  /**
   * Connections open through the proxy now, not counting those that sent LISTEN: right after a
   * burst of concurrent requests, the size the server's pool has grown to.
   */
  poolConnections(): number {
    return [...this.sessions].filter((session) => !session.listener).length;
  }

  /** Counts the statements sent while `work` runs. */
  async count(work: () => Promise<unknown>): Promise<StatementCount> {
    this.current = { statements: 0, background: 0, texts: [], transactions: [], outside: [] };
    this.counting = true;
    try {
      await work();
    } finally {
      this.counting = false;
    }
    return this.current;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
