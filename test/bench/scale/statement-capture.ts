/**
 * Captures the SQL a server process sends to PostgreSQL, with its parameters, from outside the
 * process: a TCP proxy between the server and PostgreSQL that forwards every byte unchanged and
 * reads the frontend protocol on the way (the same place as statement-counter.ts, which counts
 * statements; this one keeps them whole, so that each can be EXPLAINed as it was run). Parse
 * gives a statement's text and declared parameter types, Bind its values, Execute runs it; a
 * simple Query is a statement without parameters.
 */
import net from "node:net";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** One statement as the server ran it. */
export interface CapturedStatement {
  text: string;
  /** Each parameter's type OID as Parse declared it; 0: left for the server to infer. */
  types: number[];
  /** Each parameter's value in text format; null for NULL. */
  params: (string | null)[];
  /** Whether any value was sent in binary format (its value here is hex, not usable as a literal). */
  binary: boolean;
  /**
   * Whether it ran as a named prepared statement (reused: PostgreSQL may switch it to a generic
   * plan) rather than the unnamed one (planned afresh with its values every time: drizzle on
   * postgres.js sends its queries unnamed).
   */
  named: boolean;
}

class Session {
  private buffer: Buffer = Buffer.alloc(0);
  private untyped = true;
  private readonly prepared = new Map<string, { text: string; types: number[]; named: boolean }>();
  private bound: CapturedStatement | null = null;

  constructor(private readonly capture: StatementCapture) {}

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
    let at = 0;
    const cstring = () => {
      const end = body.indexOf(0, at);
      const text = body.toString("utf8", at, end);
      at = end + 1;
      return text;
    };
    const int16 = () => {
      const value = body.readInt16BE(at);
      at += 2;
      return value;
    };
    const int32 = () => {
      const value = body.readInt32BE(at);
      at += 4;
      return value;
    };
    if (type === "P") {
      const name = cstring();
      const text = cstring();
      const types = Array.from({ length: int16() }, int32);
      this.prepared.set(name, { text, types, named: name !== "" });
    } else if (type === "B") {
      cstring(); // the portal
      const statement = this.prepared.get(cstring()) ?? { text: "", types: [], named: false };
      const formats = Array.from({ length: int16() }, int16);
      let binary = false;
      const params = Array.from({ length: int16() }, (_, index) => {
        const length = int32();
        if (length < 0) return null;
        const value = body.subarray(at, at + length);
        at += length;
        const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[index];
        if (format === 1) binary = true;
        return format === 1 ? value.toString("hex") : value.toString("utf8");
      });
      this.bound = { text: statement.text, types: statement.types, params, binary, named: statement.named };
    } else if (type === "E") {
      if (this.bound) this.capture.record(this.bound);
    } else if (type === "Q") {
      this.capture.record({ text: cstring(), types: [], params: [], binary: false, named: false });
    }
  }
}

export class StatementCapture {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private captured: CapturedStatement[] | null = null;

  constructor(private readonly upstream: { host: string; port: number }) {}

  /** Starts the proxy on a free port of 127.0.0.1; returns the port. */
  async listen(): Promise<number> {
    this.server = net.createServer((client) => {
      const session = new Session(this);
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

  record(statement: CapturedStatement): void {
    this.captured?.push(statement);
  }

  /** The statements sent while `work` runs, in the order sent, background work included. */
  async capture(work: () => Promise<unknown>): Promise<CapturedStatement[]> {
    const captured: CapturedStatement[] = [];
    this.captured = captured;
    try {
      await work();
    } finally {
      this.captured = null;
    }
    return captured;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
