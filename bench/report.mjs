// Turns the runs into medians, ratios and tables (console text and Markdown).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const LABEL = { 'node-http': 'node:http', drupe: 'drupe', 'drupe-no-server': 'drupe, no Server', fastify: 'fastify', hono: 'hono', koa: 'koa', express: 'express' };
const UNIT = { wrk: 'req/s', sse: 'events/s', slow: 'KiB RSS/conn' };
const CPU_UNIT = { wrk: 'µs/req', sse: 'µs/event', slow: 'µs/client' };

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The median over rounds of one framework's CPU efficiency against the reference measured
 * in the same round. The machine's speed drifts between rounds (the same
 * server by up to 80 %), and a drift hits everyone measured in that round
 * alike, so pairing by round cancels most of it; a ratio of two medians
 * taken from different rounds does not.
 */
function pairedCpuRatio(results, name, ref, fw) {
  const refRuns = results[name]?.[ref]?.runs ?? [];
  const ratios = [];
  for (const run of results[name]?.[fw]?.runs ?? []) {
    const other = refRuns.find((r) => r.round === run.round);
    if (other !== undefined && run.cpuPer > 0 && other.cpuPer > 0) ratios.push(other.cpuPer / run.cpuPer);
  }
  return ratios.length ? median(ratios).toFixed(2) : 'n/a';
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b ? (a / b).toFixed(2) : 'n/a');

function summarize(results, scenarios, frameworks) {
  const out = {};
  for (const name of scenarios) {
    out[name] = {};
    for (const fw of frameworks) {
      const slot = results[name]?.[fw] ?? { runs: [], errors: [] };
      const runs = slot.runs;
      out[name][fw] = {
        value: median(runs.map((r) => r.value)),
        cpuPer: median(runs.map((r) => r.cpuPer)),
        idleKiB: median(runs.map((r) => r.idleKiB)),
        peakKiB: median(runs.filter((r) => r.peakKiB).map((r) => r.peakKiB)),
        runs: runs.length,
        error: runs.length ? '' : slot.errors[0] ?? 'not run',
        notes: [...new Set(runs.map((r) => r.note).filter(Boolean))],
      };
    }
  }
  return out;
}

export function report({ results, scenarios, frameworks, machine, opts, notes, SCENARIOS }) {
  const sum = summarize(results, scenarios, frameworks);
  const w = Math.max(11, ...frameworks.map((f) => LABEL[f].length + 2));
  const lines = [];
  const head = 'scenario'.padEnd(14) + 'row'.padEnd(14) + frameworks.map((f) => LABEL[f].padStart(w)).join('');
  lines.push(head, '-'.repeat(head.length));
  for (const name of scenarios) {
    const kind = SCENARIOS[name].kind;
    const row = (label, f) => lines.push(' '.repeat(14) + label.padEnd(14) + frameworks.map((fw) => f(sum[name][fw]).padStart(w)).join(''));
    lines.push(name.padEnd(14) + UNIT[kind].padEnd(14) + frameworks.map((fw) => fmt(sum[name][fw].value, kind === 'slow' ? 1 : 0).padStart(w)).join(''));
    const node = sum[name]['node-http']?.value;
    const drupe = sum[name].drupe?.value;
    row('× node:http', (s) => ratio(s.value, node));
    row('× drupe', (s) => ratio(s.value, drupe));
    row(`cpu ${CPU_UNIT[kind]}`, (s) => fmt(s.cpuPer, 1));
    row('cpu eff × node', (s) => ratio(sum[name]['node-http']?.cpuPer, s.cpuPer));
    lines.push(' '.repeat(14) + 'paired × node'.padEnd(14) + frameworks.map((fw) => pairedCpuRatio(results, name, 'node-http', fw).padStart(w)).join(''));
  }
  // Idle RSS as V8 sizes the heap by itself, from the runs without node flags when there are any.
  const idle = Object.fromEntries(frameworks.map((fw) => {
    const runs = scenarios.flatMap((n) => results[n]?.[fw]?.runs ?? []);
    const plain = runs.filter((r) => !r.flags);
    return [fw, median((plain.length ? plain : runs).map((r) => r.idleKiB)) / 1024];
  }));
  lines.push('idle RSS MiB'.padEnd(28) + frameworks.map((fw) => fmt(idle[fw], 1).padStart(w)).join(''));
  const missing = [];
  for (const name of scenarios) for (const fw of frameworks) if (sum[name][fw].error) missing.push(`${name}/${LABEL[fw]}: ${sum[name][fw].error}`);
  if (missing.length) lines.push('', 'n/a:', ...missing.map((m) => `  ${m}`));
  if (scenarios.includes('slow-clients')) lines.push('', 'slow-clients: lower is better (server RSS per connection); elsewhere higher is better.');

  const md = [];
  md.push(`# Benchmark results, ${new Date().toISOString().slice(0, 10)}`, '');
  md.push('Produced by `npm run bench` (see [docs/benchmarks.md](../../docs/benchmarks.md) for the method).', '');
  md.push('## Machine', '');
  md.push(`- cores: ${machine.cores} (${machine.cpu}), memory ${machine.memory}, Linux ${machine.kernel}`);
  md.push(`- Node ${machine.node}${machine.nodeFlags ? ` (every server run with \`${machine.nodeFlags}\`, except for \`slow-clients\`: memory is measured with V8's own heap sizing, and so is idle RSS when \`slow-clients\` ran)` : ' (every server with V8\'s own heap sizing)'}; load generator: ${machine.loader}; ${machine.pinning}`);
  md.push(`- ${opts.rounds} round${opts.rounds === 1 ? '' : 's'}, interleaved; each load ${opts.duration} s after a ${opts.warmup} s warm-up (discarded); slow clients held ${opts.hold} s; whole run ${machine.seconds} s`);
  md.push(`- load average (1 min) at the start and the end: ${machine.loadStart.toFixed(1)} and ${machine.loadEnd.toFixed(1)} (on ${machine.cores} cores; above 2 means others were running too)`);
  if (notes.drupeBuild) md.push(`- Drupe build: ${notes.drupeBuild.replace(/\|/g, '\\|')}`);
  md.push('', '## Ratios (medians)', '');
  md.push(`| scenario | ${frameworks.map((f) => LABEL[f]).join(' | ')} |`, `|---|${frameworks.map(() => '---:').join('|')}|`);
  for (const name of scenarios) {
    const node = sum[name]['node-http']?.value;
    md.push(`| ${name} × node:http | ${frameworks.map((f) => ratio(sum[name][f].value, node)).join(' | ')} |`);
  }
  for (const name of scenarios) {
    const drupe = sum[name].drupe?.value;
    md.push(`| ${name} × drupe | ${frameworks.map((f) => ratio(sum[name][f].value, drupe)).join(' | ')} |`);
  }
  md.push(`| idle RSS MiB | ${frameworks.map((f) => fmt(idle[f], 1)).join(' | ')} |`);
  if (scenarios.includes('slow-clients')) md.push('', 'For `slow-clients` the value is server memory per connection: lower is better, so a ratio above 1 means more memory.');
  md.push('', '### CPU efficiency (medians)', '');
  md.push('Server CPU time per request of the reference ÷ this framework\'s: like the ratios above, higher is better and 1.00 means as cheap as the reference. Steadier than requests per second on a busy machine.', '');
  md.push(`| scenario | ${frameworks.map((f) => LABEL[f]).join(' | ')} |`, `|---|${frameworks.map(() => '---:').join('|')}|`);
  for (const ref of ['node-http', 'drupe']) {
    for (const name of scenarios) {
      const base = sum[name][ref]?.cpuPer;
      md.push(`| ${name} × ${LABEL[ref]} | ${frameworks.map((f) => ratio(base, sum[name][f].cpuPer)).join(' | ')} |`);
    }
  }
  md.push('', '### CPU efficiency paired by round (medians of per-round ratios)', '');
  md.push('The same ratio taken within each round, then the median over rounds: the machine\'s drift between rounds cancels out. Read this table first.', '');
  md.push(`| scenario | ${frameworks.map((f) => LABEL[f]).join(' | ')} |`, `|---|${frameworks.map(() => '---:').join('|')}|`);
  for (const ref of ['node-http', 'drupe']) {
    for (const name of scenarios) {
      md.push(`| ${name} × ${LABEL[ref]} | ${frameworks.map((f) => pairedCpuRatio(results, name, ref, f)).join(' | ')} |`);
    }
  }
  for (const name of scenarios) {
    const sc = SCENARIOS[name];
    const kind = sc.kind;
    md.push('', `## ${name}`, '');
    md.push(describe(name, sc), '');
    const node = sum[name]['node-http']?.value;
    const drupe = sum[name].drupe?.value;
    const extra = kind === 'slow' ? ' | peak RSS MiB' : '';
    md.push(`| framework | ${UNIT[kind]} (median) | × node:http | × drupe | CPU ${CPU_UNIT[kind]} | idle RSS MiB${extra} | runs |`);
    md.push(`|---|---:|---:|---:|---:|---:|${kind === 'slow' ? '---:|' : ''}---:|`);
    for (const fw of frameworks) {
      const s = sum[name][fw];
      if (s.error) { md.push(`| ${LABEL[fw]} | n/a: ${s.error.replace(/\|/g, '\\|')} | | | | |${kind === 'slow' ? ' |' : ''} 0 |`); continue; }
      const peak = kind === 'slow' ? ` | ${fmt(s.peakKiB / 1024, 1)}` : '';
      md.push(`| ${LABEL[fw]} | ${fmt(s.value, kind === 'slow' ? 1 : 0)} | ${ratio(s.value, node)} | ${ratio(s.value, drupe)} | ${fmt(s.cpuPer, 1)} | ${fmt(s.idleKiB / 1024, 1)}${peak} | ${s.runs} |`);
    }
    const notesHere = frameworks.flatMap((fw) => sum[name][fw].notes.map((n) => `${LABEL[fw]}: wrk socket errors ${n}`));
    if (notesHere.length) md.push('', ...notesHere.map((n) => `- ${n}`));
  }
  md.push('');
  return { text: lines.join('\n'), markdown: md.join('\n') };
}

function describe(name, sc) {
  switch (sc.kind) {
    case 'wrk': return `\`GET ${sc.path}\`, wrk with ${sc.connections} connections, one thread.`;
    case 'sse': return `\`GET /sse\` held open by ${sc.clients} clients; one producer fans each event out to all of them (a client that is backed up misses events). Events per second delivered, counted by the clients.`;
    default: return `\`GET ${sc.path}\` (256 KiB streamed in 1 KiB chunks) by ${sc.clients} clients that pause their sockets and read 4 KiB every 250 ms. Server RSS per connection = (peak RSS − RSS before) ÷ clients.`;
  }
}

/** Points docs/benchmarks.md at the newest full results. */
export function updateDocs(file, link, machine) {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j === -1) return;
  const body = `\nNewest results: [${link.split('/').pop()}](${link}) — ${machine.cores} cores (${machine.cpu}), Node ${machine.node}${machine.nodeFlags ? ` (speed scenarios with \`${machine.nodeFlags}\`)` : ''}, ${machine.loader}.\n`;
  writeFileSync(file, text.slice(0, i + start.length) + body + text.slice(j));
}
