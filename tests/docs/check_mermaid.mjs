// Parses every ```mermaid block of the Markdown files given as arguments with mermaid itself.
// Prints one line per diagram and exits non-zero if any diagram does not parse.
import fs from "node:fs";
import { JSDOM } from "jsdom";

// mermaid sanitises labels with DOMPurify, which needs a DOM even for parsing.
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let failures = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const [index, block] of blocks.entries()) {
    try {
      const { diagramType } = await mermaid.parse(block);
      console.log(`${file} diagram ${index + 1}: ${diagramType} ok`);
    } catch (error) {
      failures += 1;
      console.log(`${file} diagram ${index + 1}: ${String(error.message).split("\n").join(" ")}`);
    }
  }
}
process.exit(failures ? 1 : 0);
