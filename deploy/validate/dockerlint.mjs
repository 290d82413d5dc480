// Offline lint of lmc's Dockerfiles (no docker engine needed):
//   node dockerlint.mjs REPO_ROOT DOCKERFILE...
// Syntax through dockerfile-utils (the parser of the Docker language server),
// then lmc's rules: multi-stage; every stage installs packages only through
// scripts/install-deps.sh (the script CI runs); COPY sources exist in the build
// context; the final stage runs as a non-root user, has a HEALTHCHECK that asks
// the health port of the image's server.conf, and exposes its gRPC and metrics
// ports. Exit status 1 with the problems listed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dockerfileUtils = require('dockerfile-utils');

const [root, ...files] = process.argv.slice(2);
let problems = 0;

function confPorts(file) {
  const conf = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = line.replace(/#.*/, '').match(/^\s*(\w+)\s*=\s*(.*?)\s*$/);
    if (m) conf[m[1]] = Number(m[2].split(':').pop());
  }
  return conf;
}

// Instructions with continuation lines joined: [{op, args, line}].
function parse(text) {
  const out = [];
  let cur = '', start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!cur && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (!cur) start = i + 1;
    if (line.trim().startsWith('#')) return;  // comment inside a continuation
    cur += (cur ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const [op, ...rest] = cur.split(/\s+/);
      out.push({ op: op.toUpperCase(), args: rest.join(' '), line: start });
      cur = '';
    }
  });
  return out;
}

for (const file of files) {
  const fail = (line, msg) => {
    console.error(`${path.relative(root, file)}:${line}: ${msg}`);
    ++problems;
  };
  const text = fs.readFileSync(file, 'utf8');
  for (const d of dockerfileUtils.validate(text)) fail(d.range.start.line + 1, d.message);

  // Build contexts the file documents (`--build-context NAME=...`) may be COPY --from sources.
  const contexts = new Set([...text.matchAll(/--build-context (\w+)=/g)].map((m) => m[1]));
  const stages = [];
  for (const ins of parse(text)) {
    if (ins.op === 'FROM') {
      const m = ins.args.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i);
      stages.push({ base: m?.[1], name: m?.[2], ins: [], line: ins.line, installs: false });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) { fail(ins.line, `${ins.op} before FROM`); continue; }
    stage.ins.push(ins);
    if (ins.op === 'RUN') {
      if (/install-deps\.sh/.test(ins.args)) stage.installs = true;
      if (/\b(apt-get|apt|aptitude|dpkg -i|pip3?|npm)\s+(install|ci)\b/.test(ins.args)) {
        fail(ins.line, 'packages are installed only through scripts/install-deps.sh');
      }
    }
    if (ins.op === 'COPY' || ins.op === 'ADD') {
      const words = ins.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice(7);
      const srcs = words.filter((w) => !w.startsWith('--')).slice(0, -1);
      if (from) {
        if (!stages.slice(0, -1).some((s) => s.name === from) && !contexts.has(from)) {
          fail(ins.line, `COPY --from=${from}: no such earlier stage or documented build context`);
        }
      } else {
        for (const src of srcs) {
          if (!fs.existsSync(path.join(root, src))) fail(ins.line, `COPY ${src}: not in the build context`);
        }
      }
    }
  }
  if (stages.length < 2) fail(1, 'expected a multi-stage build (a build stage and a run stage)');
  for (const s of stages) {
    if (s.base !== 'debian:12' && !stages.some((t) => t.name === s.base)) {
      fail(s.line, `FROM ${s.base}: lmc's images are Debian 12 (install-deps.sh targets it)`);
    }
    if (!s.installs) fail(s.line, 'this stage does not run scripts/install-deps.sh');
  }
  const final = stages[stages.length - 1]?.ins ?? [];
  const last = (op) => [...final].reverse().find((i) => i.op === op);
  const user = last('USER');
  if (!user || /^(root|0)(:|$)/.test(user.args)) fail(user?.line ?? 1, 'the final stage must run as a non-root USER');
  const copiesConf = final.find((i) => i.op === 'COPY' && /\S+\.conf\s+\/etc\/lmc\/server\.conf$/.test(i.args));
  const conf = copiesConf ? confPorts(path.join(root, copiesConf.args.split(/\s+/)[0])) : {};
  if (!copiesConf) fail(1, 'the final stage must copy a server.conf to /etc/lmc/server.conf');
  const health = last('HEALTHCHECK');
  if (!health || !/CMD/.test(health.args)) {
    fail(health?.line ?? 1, 'the final stage needs a HEALTHCHECK CMD');
  } else if (!health.args.includes(`127.0.0.1:${conf.health_listen}`) || !health.args.includes('health')) {
    fail(health.line, `HEALTHCHECK must run 'lmc --server 127.0.0.1:${conf.health_listen} health' (health_listen)`);
  }
  const exposed = (last('EXPOSE')?.args ?? '').split(/\s+/).map(Number);
  for (const key of ['listen', 'metrics_listen']) {
    if (!exposed.includes(conf[key])) fail(last('EXPOSE')?.line ?? 1, `EXPOSE lacks the ${key} port ${conf[key]}`);
  }
  if (!/lmc-server/.test(last('ENTRYPOINT')?.args ?? '')) fail(1, 'ENTRYPOINT must start lmc-server');
}

// The install step is the script CI runs.
const ci = fs.readFileSync(path.join(root, 'scripts/test.sh'), 'utf8');
if (!/bash scripts\/install-deps\.sh/.test(ci)) {
  console.error('scripts/test.sh (CI) does not run scripts/install-deps.sh');
  ++problems;
}
if (problems) process.exit(1);
console.log(`dockerlint: ${files.length} Dockerfiles clean`);
