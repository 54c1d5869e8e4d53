/**
 * Where the time goes while one row lock serializes every transaction (the hot product): a
 * sampler asks PostgreSQL every 100 ms what the backends that others wait for are doing. A lock
 * holder that is "idle in transaction" (or reading the next message) waits for its client to
 * send the next statement: the lock is held across the application's round trips, and every
 * millisecond of client-side delay (a busy event loop, a CPU shared with other processes) is a
 * millisecond no other order on that product can run.
 */
import postgres from "postgres";

export interface LockSample {
  /** Samples in which some backend waited on a lock. */
  samples: number;
  /** Of those, samples in which the holder was waiting on its client. */
  holderWaitingOnClient: number;
}

export class LockSampler {
  private readonly client: postgres.Sql;
  private timer: NodeJS.Timeout | null = null;
  private result: LockSample = { samples: 0, holderWaitingOnClient: 0 };
  private busy = false;

  constructor(databaseUrl: string) {
    this.client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  }

  start(): void {
    this.result = { samples: 0, holderWaitingOnClient: 0 };
    this.timer = setInterval(() => void this.sample(), 100);
  }

  stop(): LockSample {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.result;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [row] = await this.client`
        WITH blockers AS (
          SELECT DISTINCT unnest(pg_blocking_pids(pid)) AS pid
          FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
        )
        SELECT count(*)::int AS holders,
               count(*) FILTER (WHERE a.state = 'idle in transaction' OR a.wait_event = 'ClientRead')::int AS on_client
        FROM blockers b JOIN pg_stat_activity a ON a.pid = b.pid`;
      if (row.holders > 0) {
        this.result.samples += 1;
        if (row.on_client > 0) this.result.holderWaitingOnClient += 1;
      }
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.stop();
    await this.client.end({ timeout: 5 });
  }
}
