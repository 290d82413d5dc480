// Offline checks of one rendered overlay (`kubectl kustomize ...`):
//   node validate.mjs RENDERED.yaml OVERLAY OUT_DIR
// 1. Every object validates against its schema: Kubernetes (kubernetes-models)
//    and prometheus-operator (@kubernetes-models/prometheus-operator).
// 2. The objects agree with each other: probes on the container's gRPC port,
//    Service and ServiceMonitor on the metrics port, selectors that select the
//    pods, the HPA on the Deployment, a grace period longer than the drain.
// Writes the ConfigMap's files to OUT_DIR and prints `key=value` facts
// (grpc_port, metrics_port, args) for tests/deploy_test.sh, which starts a real
// lmc-server from them. Exit status 1 with a list of problems otherwise.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

const [file, overlay, outDir] = process.argv.slice(2);
const problems = [];
const fail = (msg) => problems.push(msg);

const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter(Boolean);

async function schemaCheck(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const mod = group === 'monitoring.coreos.com'
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${obj.kind}`
    : `kubernetes-models/${group ? group + '/' : ''}${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(mod))[obj.kind];
  } catch (e) {
    return fail(`${obj.apiVersion} ${obj.kind}: no schema (${e.message})`);
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(`${obj.kind}/${obj.metadata?.name}: ${e.message}`);
  }
}
for (const obj of docs) await schemaCheck(obj);

const byKind = (kind) => docs.filter((d) => d.kind === kind);
const one = (kind) => {
  const all = byKind(kind);
  if (all.length !== 1) fail(`expected one ${kind}, found ${all.length}`);
  return all[0] ?? {};
};
const selects = (selector, labels) =>
  selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const cm = one('ConfigMap'), svc = one('Service'), dep = one('Deployment');
const hpa = one('HorizontalPodAutoscaler'), pdb = one('PodDisruptionBudget');
const sm = one('ServiceMonitor');
const pod = dep.spec?.template ?? {};
const podLabels = pod.metadata?.labels ?? {};
const c = pod.spec?.containers?.[0] ?? {};
const portByName = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
const grpcPort = portByName.grpc, metricsPort = portByName.metrics;
if (!grpcPort || !metricsPort) fail('the container needs ports named grpc and metrics');

// Probes: native gRPC on the gRPC port; readiness and startup ask for the
// server as a whole (""), liveness for "liveness".
for (const [name, want] of [['startupProbe', ''], ['readinessProbe', ''], ['livenessProbe', 'liveness']]) {
  const p = c[name]?.grpc;
  if (!p) { fail(`${name}: not a gRPC probe`); continue; }
  if (p.port !== grpcPort) fail(`${name}: port ${p.port}, the server listens on ${grpcPort}`);
  if ((p.service ?? '') !== want) fail(`${name}: service '${p.service ?? ''}', expected '${want}'`);
}

// Service: headless, selects the pods, ports resolve to container ports.
if (svc.spec?.clusterIP !== 'None') fail('Service: must be headless (clusterIP: None)');
if (!selects(svc.spec?.selector, podLabels)) fail('Service: selector does not select the pods');
const svcPorts = Object.fromEntries((svc.spec?.ports ?? []).map((p) => [p.name, p]));
for (const p of Object.values(svcPorts)) {
  const target = typeof p.targetPort === 'string' ? portByName[p.targetPort] : p.targetPort;
  if (!target) fail(`Service port ${p.name}: targetPort ${p.targetPort} is no container port`);
}

// ServiceMonitor: selects the Service, scrapes its metrics port.
if (!selects(sm.spec?.selector?.matchLabels, svc.metadata?.labels)) {
  fail('ServiceMonitor: selector does not select the Service');
}
let scrapePort;
for (const ep of sm.spec?.endpoints ?? []) {
  const sp = svcPorts[ep.port];
  if (!sp) { fail(`ServiceMonitor: port '${ep.port}' is not a Service port`); continue; }
  scrapePort = typeof sp.targetPort === 'string' ? portByName[sp.targetPort] : sp.targetPort;
  if (scrapePort !== metricsPort) fail(`ServiceMonitor: scrapes ${scrapePort}, metrics are on ${metricsPort}`);
  if ((ep.path ?? '/metrics') !== '/metrics') fail('ServiceMonitor: path must be /metrics');
}

// HPA, PDB.
const ref = hpa.spec?.scaleTargetRef ?? {};
if (ref.kind !== 'Deployment' || ref.name !== dep.metadata?.name) fail('HPA: does not scale the Deployment');
if (!(hpa.spec?.metrics ?? []).some((m) => m.pods?.metric?.name === 'lmc_queue_chunks')) {
  fail('HPA: no pods metric lmc_queue_chunks');
}
if (!selects(pdb.spec?.selector?.matchLabels, podLabels)) fail('PDB: selector does not select the pods');
if (!selects(dep.spec?.selector?.matchLabels, podLabels)) fail('Deployment: selector does not select its pods');

// Configuration: the mounted ConfigMap holds every file the args name.
const vol = (pod.spec?.volumes ?? []).find((v) => v.configMap?.name === cm.metadata?.name);
if (!vol) fail('Deployment: does not mount the ConfigMap');
const mount = (c.volumeMounts ?? []).find((m) => m.name === vol?.name);
const args = c.args ?? [];
const conf = {};
fs.mkdirSync(outDir, { recursive: true });
for (let i = 0; i < args.length; ++i) {
  if (args[i] !== '--config') continue;
  const p = args[i + 1] ?? '';
  const key = path.basename(p);
  if (!mount || path.dirname(p) !== mount.mountPath || !(key in (cm.data ?? {}))) {
    fail(`args: --config ${p} is not a file of the mounted ConfigMap`);
    continue;
  }
  fs.writeFileSync(path.join(outDir, key), cm.data[key]);
  for (const line of cm.data[key].split('\n')) {
    const m = line.replace(/#.*/, '').match(/^\s*(\w+)\s*=\s*(.*?)\s*$/);
    if (m) conf[m[1]] = m[2];
  }
}
const confPort = (key) => Number((conf[key] ?? '').split(':').pop());
if (confPort('listen') !== grpcPort) fail(`server config listens on ${conf.listen}, the container port is ${grpcPort}`);
if (confPort('metrics_listen') !== metricsPort) fail(`server config serves metrics on ${conf.metrics_listen}, the container port is ${metricsPort}`);

// Draining: the grace period covers the preStop pause and the drain.
const preStop = c.lifecycle?.preStop?.exec?.command ?? [];
const pause = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
const drain = Number(conf.drain_seconds ?? 30);
if (!(pod.spec?.terminationGracePeriodSeconds > pause + drain)) {
  fail(`terminationGracePeriodSeconds ${pod.spec?.terminationGracePeriodSeconds} <= preStop ${pause} s + drain ${drain} s`);
}

// Non-root, read-only.
if (pod.spec?.securityContext?.runAsNonRoot !== true) fail('pod: runAsNonRoot must be true');
if (c.securityContext?.readOnlyRootFilesystem !== true) fail('container: readOnlyRootFilesystem must be true');

// The overlay's own promises.
const gpus = c.resources?.limits?.['nvidia.com/gpu'];
if (overlay === 'gpu' && String(gpus) !== '1') fail('gpu overlay: needs nvidia.com/gpu: 1');
if (overlay === 'cpu' && gpus !== undefined) fail('cpu overlay: asks for a GPU');
if (!c.image?.endsWith(`:${overlay === 'gpu' ? 'cuda' : 'cpu'}`)) fail(`image ${c.image} does not fit the ${overlay} overlay`);

if (problems.length) {
  for (const p of problems) console.error(`${overlay}: ${p}`);
  process.exit(1);
}
console.log(`objects=${docs.map((d) => d.kind).join(',')}`);
console.log(`grpc_port=${grpcPort}`);
console.log(`metrics_port=${metricsPort}`);
console.log(`args=${args.map((a) => a.startsWith(mount.mountPath + '/') ? path.join(outDir, path.basename(a)) : a).join(' ')}`);
