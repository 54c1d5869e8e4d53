/// <reference lib="dom" />
/** The tiles above the table: totals over every product, rewritten after each change. */
import { count, plural, relativeDay, shortDate } from "./format.js";
import type { BoardTotals } from "./product-board.js";

/** The four tiles; `show(null)` blanks them (no key, a new session). */
export class SummaryTiles {
  constructor(private readonly root: HTMLElement) {}

  private tile(name: string, value: string, note: string, tone: "" | "warn" | "bad" = ""): void {
    const tile = this.root.querySelector<HTMLElement>(`[data-tile="${name}"]`);
    if (!tile) return;
    tile.dataset.tone = tone;
    tile.querySelector(".value")!.textContent = value;
    tile.querySelector(".note")!.textContent = note;
  }

  show(totals: BoardTotals | null): void {
    if (!totals) {
      for (const name of ["products", "backordered", "delayed", "incoming"]) this.tile(name, "–", "");
      return;
    }
    this.tile("products", count(totals.products), `${count(totals.outOfStock)} with none available`);
    this.tile(
      "backordered",
      count(totals.backordered),
      totals.waiting > 0 ? `units in ${plural(totals.waiting, "backorder")}` : "no customer waiting",
      totals.backordered > 0 ? "warn" : "",
    );
    if (totals.uncounted > 0) this.tile("delayed", "…", `counting, ${count(totals.uncounted)} products to go`);
    else
      this.tile(
        "delayed",
        count(totals.delayed),
        totals.delayed > 0 ? "backorders later than promised" : "every promise on time",
        totals.delayed > 0 ? "bad" : "",
      );
    this.tile(
      "incoming",
      count(totals.incoming),
      totals.nextRestockAt ? `next restock ${shortDate(totals.nextRestockAt)}, ${relativeDay(totals.nextRestockAt)}` : "no restock scheduled",
    );
  }
}
