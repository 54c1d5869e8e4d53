/**
 * The installed dependencies carry the patches in `patches/` (patches/README.md), which
 * `npm install` applies with patch-package. Without `postgres+3.4.9.patch` a PostgreSQL session
 * ended under a running server can crash the process or hang requests
 * (test/reliability/db-faults.test.ts). What is checked is read from the patch files themselves,
 * so the test cannot drift from them: every hunk, as it reads after patching (its context and
 * added lines), must appear in the installed file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const patchesDir = new URL("patches/", root);

/** One hunk of a patch: where it starts in the original and its text after patching. */
interface Hunk {
  readonly header: string;
  readonly after: string;
}

/** The hunks of a unified diff (as patch-package writes it), grouped by the patched file's path from the repository root. */
function hunksByFile(patch: string): Map<string, Hunk[]> {
  const files = new Map<string, Hunk[]>();
  let hunks: Hunk[] | undefined;
  let header = "";
  let after: string[] | undefined;
  const endHunk = (): void => {
    if (hunks && after) hunks.push({ header, after: after.join("\n") });
    after = undefined;
  };
  for (const line of patch.split("\n")) {
    if (line.startsWith("diff --git ")) {
      endHunk();
      hunks = undefined;
    } else if (line.startsWith("+++ ")) {
      // "+++ b/node_modules/…": the path after patching (a deleted file would be /dev/null; none here).
      const path = line.slice(4).replace(/^b\//, "");
      hunks = [];
      files.set(path, hunks);
    } else if (line.startsWith("@@")) {
      endHunk();
      header = line;
      after = [];
    } else if (after && (line.startsWith(" ") || line.startsWith("+"))) {
      after.push(line.slice(1));
    }
    // "-" lines are gone after patching; "\ No newline at end of file" and file headers carry no text.
  }
  endHunk();
  return files;
}

const patchFiles = readdirSync(patchesDir).filter((name) => name.endsWith(".patch"));

describe("the installed dependencies", () => {
  it("have patch files to check (patches/*.patch)", () => {
    expect(patchFiles).toContain("postgres+3.4.9.patch");
  });

  for (const patchFile of patchFiles) {
    const files = hunksByFile(readFileSync(new URL(patchFile, patchesDir), "utf8"));

    it(`carry every hunk of patches/${patchFile} (npm install applies it with patch-package)`, () => {
      expect(files.size).toBeGreaterThan(0);
      const missing: string[] = [];
      for (const [path, hunks] of files) {
        expect(hunks.length, `${path} has no hunks`).toBeGreaterThan(0);
        const installed = readFileSync(fileURLToPath(new URL(path, root)), "utf8");
        for (const { header, after } of hunks) if (!installed.includes(after)) missing.push(`${path} ${header}`);
      }
      expect(missing, "not patched; run `npx patch-package` (see patches/README.md)").toEqual([]);
    });
  }
});
