/**
 * `npm run bench [-- <section> ...]`: the benchmarks (never timed tests). Each section is a module
 * bench/sections/<name>.ts exporting `run(): Promise<string>` that measures on this machine and returns
 * Markdown. The runner prints each section and writes it into docs/benchmarks.md between the markers
 *   <!-- bench:<name>:start --> ... <!-- bench:<name>:end -->
 * so every figure in that file comes from the last run of its section (with the date and machine).
 *
 *   npm run bench                 # every section, in order
 *   npm run bench -- engine       # one section
 *   npm run bench -- --no-write   # print only
 */
import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const docPath = path.join(here, "..", "docs", "benchmarks.md");
const ORDER = ["engine", "dubbing", "load"];

interface Section {
  run(): Promise<string>;
}

function available(): string[] {
  const dir = path.join(here, "sections");
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)) : [];
  return [...ORDER.filter((n) => names.includes(n)), ...names.filter((n) => !ORDER.includes(n)).sort()];
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const write = !args.includes("--no-write");
  const wanted = args.filter((a) => !a.startsWith("--"));
  const all = available();
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) throw new Error(`unknown bench section(s) ${unknown.join(", ")}; available: ${all.join(", ")}`);
  const names = wanted.length ? wanted : all;
  for (const name of names) {
    const mod = (await import(pathToFileURL(path.join(here, "sections", `${name}.ts`)).href)) as Section;
    console.log(`\n=== bench ${name} ===`);
    const started = Date.now();
    const body = `${await mod.run()}\n\n_Measured ${machine()}; section took ${((Date.now() - started) / 1000).toFixed(0)} s (\`npm run bench -- ${name}\`)._`;
    console.log(body);
    if (write) {
      const doc = existsSync(docPath) ? await readFile(docPath, "utf8") : "# Benchmarks\n\nWritten by `npm run bench`.\n";
      await writeFile(docPath, replaceSection(doc, name, body));
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
