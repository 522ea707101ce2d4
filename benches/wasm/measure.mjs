// How the wasm benchmarks measure: operations per CPU-second of each case, in rounds that interleave the
// cases (each case reports its median round, so a shared machine's load weighs on every case alike), and
// cold import times, each in a fresh node process.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const median = (xs) => { const s = [...xs].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };

async function measure(name, fn, seconds) {
  if (!(await fn())) throw new Error(`${name} did not verify its vector`);
  for (let i = 0; i < 200; i++) await fn(); // warm up
  const until = performance.now() + seconds * 1000;
  const cpuStart = process.cpuUsage();
  let n = 0;
  while (performance.now() < until) { await fn(); n++; }
  const cpu = process.cpuUsage(cpuStart);
  return n / ((cpu.user + cpu.system) / 1e6);
}

/** `{name: medianOpsPerCpuSecond}` of `cases` ([name, fn] pairs; fn answers truthy when it verified). */
export async function opsPerCpuSecond(cases, { seconds, rounds }) {
  const samples = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of cases) samples[name].push(await measure(name, fn, seconds));
  }
  return Object.fromEntries(cases.map(([name]) => [name, median(samples[name])]));
}

/** The median time, over `runs` fresh node processes, from before `import(specifier)` to after it resolves. */
export function coldImportMs(specifier, runs) {
  const code = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: path.dirname(new URL(import.meta.url).pathname), encoding: 'utf8' });
    times.push(Number(out.trim()));
  }
  return median(times);
}
