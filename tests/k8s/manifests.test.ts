import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { readDockerfile } from '../compose/dockerfile.test-support.ts';
import { join } from 'node:path';
import express from 'express';
import * as kedaModels from '@kubernetes-models/keda';
import * as k8sModels from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '@cxr/devstack';
import { healthRoutes } from '@cxr/platform';
import * as ingestConfig from '../../services/ingest/src/config.ts';
import * as workerConfig from '../../services/inference-worker/src/config.ts';
import * as reportConfig from '../../services/report/src/config.ts';
import { seriesNamesInPromQL } from './metric-names.test-support.ts';

/**
 * Renders infra/k8s/overlays/{cpu,gpu} with `kubectl kustomize` (the tool operators deploy with, so
 * what is tested is what is applied), validates every object against the Kubernetes API schemas
 * (kubernetes-models) and KEDA's (@kubernetes-models/keda), and checks the manifests against the
 * services themselves: env var names against each config's zod schema, ports and bind hosts against
 * the parsed config, probe paths against the health router, the worker's grace periods, and the
 * KEDA query against the metrics the worker declares. No cluster is needed.
 *
 * kubernetes-models accepts unknown fields, so a misspelt field would pass schema validation; the
 * cross-checks below assert the fields that matter (probes, ports, security context) are present.
 */

const KUBECTL_NEEDED =
  'kubectl with kustomize v5 (kubectl >= 1.27) is needed to render infra/k8s. Debian 12\'s ' +
  'kubernetes-client package is kubectl 1.20 (kustomize v2), too old for these kustomizations; install ' +
  'kubectl from the Kubernetes apt repository (package `kubectl`, v1.32) or use a standalone kustomize v5 ' +
  '(`kustomize build` gives the same output). See docs/kubernetes.md.';

const SERVICES = {
  ingest: { schema: ingestConfig.envSchema, load: ingestConfig.loadConfig },
  'inference-worker': { schema: workerConfig.envSchema, load: workerConfig.loadConfig },
  report: { schema: reportConfig.envSchema, load: reportConfig.loadConfig },
} as const;
type ServiceName = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
const OVERLAYS = ['cpu', 'gpu'] as const;
type Overlay = (typeof OVERLAYS)[number];

// The parts of the Kubernetes objects these checks read.
interface Meta { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface K8sObject { apiVersion: string; kind: string; metadata: Meta; [key: string]: unknown }
interface Probe { httpGet?: { path: string; port: number | string } }
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; emptyDir?: object }[];
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; effect?: string }[];
}
interface Deployment extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: Meta; spec: PodSpec } };
}
interface ServiceObject extends K8sObject {
  spec: { type?: string; selector: Record<string, string>; ports: { name: string; port: number; targetPort: number | string }[] };
}

// ---------------------------------------------------------------------------------------------
// Rendering

function kustomizeVersion(): string {
  const run = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) throw new Error(`${KUBECTL_NEEDED}\n(kubectl: ${run.error?.message ?? run.stderr})`);
  return (JSON.parse(run.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? 'unknown';
}

const renderedCache = new Map<Overlay, K8sObject[]>();
function rendered(overlay: Overlay): K8sObject[] {
  const cached = renderedCache.get(overlay);
  if (cached) return cached;
  const version = kustomizeVersion();
  if (!/^v[5-9]\./.test(version)) throw new Error(`${KUBECTL_NEEDED}\n(this kubectl embeds kustomize ${version})`);
  const dir = join(REPO_ROOT, 'infra', 'k8s', 'overlays', overlay);
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${run.stderr}`);
  const docs = parseAllDocuments(run.stdout);
  for (const doc of docs) if (doc.errors.length) throw new Error(`unparsable YAML from kustomize: ${doc.errors[0]!.message}`);
  const objects = docs.map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
  renderedCache.set(overlay, objects);
  return objects;
}

function all<T extends K8sObject>(overlay: Overlay, kind: string): T[] {
  return rendered(overlay).filter((o) => o.kind === kind) as T[];
}
function one<T extends K8sObject>(overlay: Overlay, kind: string, name: string): T {
  const found = all<T>(overlay, kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`${overlay}: no ${kind} named ${name}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Schema validation

interface ModelClass { new (data: unknown): { validate(): void } }
type ModelNamespaces = Record<string, Record<string, Record<string, ModelClass | undefined> | undefined> | undefined>;

/** `networking.k8s.io` → `networkingK8sIo`, the name kubernetes-models exports a group under. */
function groupExportName(group: string): string {
  return group.split(/[.-]/).map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))).join('');
}

/** The model class for an object's apiVersion and kind, or undefined for a kind we have no schema for. */
function modelFor(object: K8sObject): ModelClass | undefined {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') as [string, string] : ['', object.apiVersion];
  if (group === 'keda.sh') return (kedaModels as unknown as ModelNamespaces).kedaSh?.[version]?.[object.kind];
  // The core group ("v1") is exported at the top level, every other group as group → version.
  if (group === '') return (k8sModels as unknown as Record<string, Record<string, ModelClass | undefined> | undefined>)[version]?.[object.kind];
  return (k8sModels as unknown as ModelNamespaces)[groupExportName(group)]?.[version]?.[object.kind];
}

// ---------------------------------------------------------------------------------------------
// Containers, their env and config

function deploymentOf(overlay: Overlay, service: ServiceName): Deployment {
  return one<Deployment>(overlay, 'Deployment', service);
}
function containerOf(overlay: Overlay, service: ServiceName): Container {
  const containers = deploymentOf(overlay, service).spec.template.spec.containers;
  expect(containers.map((c) => c.name)).toEqual([service]);
  return containers[0]!;
}

/** The environment a container starts with: env values plus every key of its envFrom sources. */
function containerEnv(overlay: Overlay, container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const cm = one<K8sObject & { data?: Record<string, string> }>(overlay, 'ConfigMap', source.configMapRef.name);
      Object.assign(env, cm.data ?? {});
    }
    if (source.secretRef) {
      const secret = one<K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }>(overlay, 'Secret', source.secretRef.name);
      for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString('utf8');
      Object.assign(env, secret.stringData ?? {});
    }
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? '';
  return env;
}

function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Metric names the worker declares in its source (`name: 'cxr_…'`). */
function workerMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/name:\s*'(cxr_\w+)'/g)) names.add(m[1]!);
      }
    }
  };
  walk(join(REPO_ROOT, 'services', 'inference-worker', 'src'));
  return names;
}

// ---------------------------------------------------------------------------------------------

describe.each(OVERLAYS)('the %s overlay', (overlay) => {
  test('renders with kubectl kustomize into the expected objects', () => {
    const names = rendered(overlay).map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    expect(names).toEqual([
      'ConfigMap/cxr-auth', 'ConfigMap/cxr-inference-worker', 'ConfigMap/cxr-ingest', 'ConfigMap/cxr-report', 'ConfigMap/cxr-shared',
      'Deployment/inference-worker', 'Deployment/ingest', 'Deployment/report',
      'HorizontalPodAutoscaler/ingest', 'HorizontalPodAutoscaler/report',
      'PodDisruptionBudget/inference-worker', 'PodDisruptionBudget/ingest', 'PodDisruptionBudget/report',
      'ScaledObject/inference-worker',
      'Secret/cxr-ingest-secrets', 'Secret/cxr-report-secrets', 'Secret/cxr-s3-credentials',
      'Service/inference-worker', 'Service/ingest', 'Service/report',
    ]);
    for (const o of rendered(overlay)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('cxr');
  });

  test('every object is a kind with a known schema and valid against it', () => {
    for (const object of rendered(overlay)) {
      const Model = modelFor(object);
      expect(Model, `no schema for ${object.apiVersion} ${object.kind}: add its model package or drop the object`).toBeDefined();
      expect(() => new Model!(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  test.each(SERVICE_NAMES)('every env var given to %s is one its config reads, and its config accepts them', (service) => {
    const container = containerOf(overlay, service);
    const env = containerEnv(overlay, container);
    const known = Object.keys(SERVICES[service].schema.shape);
    expect(Object.keys(env).filter((name) => !known.includes(name)), `${service} does not read these`).toEqual([]);
    expect(() => SERVICES[service].load(env)).not.toThrow();
  });

  test('ingest listens on every interface, on the ports its Deployment and Service declare', () => {
    const container = containerOf(overlay, 'ingest');
    const config = ingestConfig.loadConfig(containerEnv(overlay, container));
    expect(config.dimse.host).toBe('0.0.0.0');
    expect(config.http.host).toBe('0.0.0.0');
    expect(container.ports?.map((p) => [p.name, p.containerPort])).toEqual([['dimse', config.dimse.port], ['http', config.http.port]]);
    expect(probePort(container, container.livenessProbe)).toBe(config.http.port);
    expect(probePort(container, container.readinessProbe)).toBe(config.http.port);
  });

  test('inference-worker listens on every interface, on the port its Deployment declares', () => {
    const container = containerOf(overlay, 'inference-worker');
    const config = SERVICES['inference-worker'].load(containerEnv(overlay, container));
    expect(config.http.host).toBe('0.0.0.0');
    expect(container.ports?.map((p) => p.containerPort)).toEqual([config.http.port]);
    expect(probePort(container, container.livenessProbe)).toBe(config.http.port);
    expect(probePort(container, container.readinessProbe)).toBe(config.http.port);
  });

  test('report listens on every interface, on the HTTP and HL7 (MLLP) ports its Deployment declares', () => {
    const container = containerOf(overlay, 'report');
    const config = reportConfig.loadConfig(containerEnv(overlay, container));
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.secondRead.hl7?.host).toBe('0.0.0.0');
    expect(container.ports?.map((p) => [p.name, p.containerPort])).toEqual([['http', config.http.port], ['hl7', config.secondRead.hl7?.port]]);
    expect(probePort(container, container.livenessProbe)).toBe(config.http.port);
    expect(probePort(container, container.readinessProbe)).toBe(config.http.port);
  });

  test.each(SERVICE_NAMES)('the %s Service selects its pods and targets ports they declare', (service) => {
    const svc = one<ServiceObject>(overlay, 'Service', service);
    const deployment = deploymentOf(overlay, service);
    expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(deployment.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const ports = containerOf(overlay, service).ports ?? [];
    for (const p of svc.spec.ports) {
      const target = ports.find((c) => c.name === p.targetPort || c.containerPort === p.targetPort);
      expect(target, `${service} Service port ${p.name}`).toBeDefined();
      expect(p.port).toBe(target!.containerPort);
    }
    if (service === 'ingest') expect(svc.spec.ports.map((p) => p.port).sort((a, b) => a - b)).toEqual([8080, 11112]);
  });

  test.each(SERVICE_NAMES)('%s is probed for liveness on /healthz and readiness on /readyz', (service) => {
    const container = containerOf(overlay, service);
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
  });

  test.each(SERVICE_NAMES)('%s runs as non-root with a read-only root filesystem, no capabilities, and a writable /tmp', (service) => {
    const pod = deploymentOf(overlay, service).spec.template.spec;
    const container = containerOf(overlay, service);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    // Numeric, so the kubelet can verify non-root for images whose USER is a name.
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    expect(pod.volumes?.find((v) => v.name === tmp!.name)?.emptyDir).toBeDefined();
  });

  test.each(SERVICE_NAMES)('%s has CPU and memory requests and limits, and leaves replicas to its autoscaler', (service) => {
    const { resources } = containerOf(overlay, service);
    for (const kind of ['requests', 'limits'] as const) {
      expect(resources?.[kind]?.cpu, `${kind}.cpu`).toBeDefined();
      expect(resources?.[kind]?.memory, `${kind}.memory`).toBeDefined();
    }
    expect(deploymentOf(overlay, service).spec.replicas).toBeUndefined();
  });

  test.each(SERVICE_NAMES)('%s runs the image the one Dockerfile builds for it, with a pinned tag', (service) => {
    const image = containerOf(overlay, service).image;
    const gpu = overlay === 'gpu' && service === 'inference-worker';
    expect(image).toMatch(new RegExp(`^cxr-assist/${service}${gpu ? '-gpu' : ''}:[\\w.-]+$`));
    expect(image.endsWith(':latest')).toBe(false);
    expect(existsSync(join(REPO_ROOT, 'services', service, 'src', 'main.ts'))).toBe(true);
    const { stages, defaultStage } = readDockerfile();
    // --build-arg SERVICE=<service>, and --target gpu for the CUDA worker.
    expect(Object.keys(stages)).toContain(gpu ? 'gpu' : defaultStage);
  });

  test.each(SERVICE_NAMES)('%s has a PodDisruptionBudget selecting its pods', (service) => {
    const pdb = one<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(overlay, 'PodDisruptionBudget', service);
    expect(deploymentOf(overlay, service).spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });

  test.each(['ingest', 'report'] as const)('%s scales on CPU with an autoscaling/v2 HorizontalPodAutoscaler', (service) => {
    const hpa = one<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; metrics: { type: string; resource?: { name: string } }[] } }>(overlay, 'HorizontalPodAutoscaler', service);
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: service });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics).toContainEqual(expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }));
  });

  test("the worker's pod outlives its shutdown grace: terminationGracePeriodSeconds > WORKER_SHUTDOWN_GRACE_MS", () => {
    const pod = deploymentOf(overlay, 'inference-worker').spec.template.spec;
    const config = workerConfig.loadConfig(containerEnv(overlay, containerOf(overlay, 'inference-worker')));
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.shutdownGraceMs / 1000);
  });

  test('KEDA scales the worker on the waiting-jobs gauge the worker really exports, never to zero', () => {
    const so = one<K8sObject & { spec: { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] } }>(
      overlay, 'ScaledObject', 'inference-worker');
    expect(so.spec.scaleTargetRef.name).toBe('inference-worker');
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.triggers).toHaveLength(1);
    const [trigger] = so.spec.triggers;
    expect(trigger!.type).toBe('prometheus');
    const query = trigger!.metadata.query!;
    expect(query).toMatch(/queue="analysis"/);
    expect(query).toMatch(/state="waiting"/);
    // Each worker reports the queue-wide count: summing over replicas would multiply it.
    expect(query).not.toMatch(/\bsum\b/);
    const exported = workerMetricNames();
    const named = seriesNamesInPromQL(query);
    expect(named).toEqual(['cxr_queue_jobs']);
    for (const name of named) expect(exported, `the worker declares ${name}`).toContain(name);
    expect(Number(trigger!.metadata.threshold)).toBeGreaterThan(0);
  });

  test('the services that check tokens trust an OIDC issuer, never the development issuer', () => {
    for (const service of ['ingest', 'report'] as const) {
      const env = containerEnv(overlay, containerOf(overlay, service));
      expect(env.AUTH_MODE, service).toBe('oidc');
      const config = SERVICES[service].load(env) as { auth: { mode: string; jwksUrl?: string } };
      expect(config.auth.mode, service).toBe('oidc');
      expect(config.auth.jwksUrl, service).toMatch(/^https:\/\//);
    }
    expect(containerEnv(overlay, containerOf(overlay, 'report')).REPORT_URL_SIGNING_SECRET).toBeDefined();
  });

  test('secrets in the repository are placeholders only', () => {
    for (const secret of all<K8sObject & { data?: Record<string, string> }>(overlay, 'Secret')) {
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        expect(Buffer.from(value, 'base64').toString('utf8'), `${secret.metadata.name}.${key}`).toMatch(/^PLACEHOLDER/);
      }
    }
  });
});

describe('the GPU overlay', () => {
  test('gives the worker one NVIDIA GPU, the CUDA image, cuda before cpu, and GPU node placement', () => {
    const pod = deploymentOf('gpu', 'inference-worker').spec.template.spec;
    const container = containerOf('gpu', 'inference-worker');
    expect(Number(container.resources?.limits?.['nvidia.com/gpu'])).toBe(1);
    expect(workerConfig.loadConfig(containerEnv('gpu', container)).executionProviders).toEqual(['cuda', 'cpu']);
    expect(container.image).toMatch(/^cxr-assist\/inference-worker-gpu:/);
    expect(Object.keys(pod.nodeSelector ?? {})).not.toHaveLength(0);
    expect(pod.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' }));
  });

  test('changes nothing but the worker: ingest and report render the same as in the CPU overlay', () => {
    for (const service of ['ingest', 'report'] as const) {
      expect(deploymentOf('gpu', service)).toEqual(deploymentOf('cpu', service));
    }
  });
});

describe('the CPU overlay', () => {
  test('asks for no GPU and runs the worker on the CPU provider', () => {
    const container = containerOf('cpu', 'inference-worker');
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(workerConfig.loadConfig(containerEnv('cpu', container)).executionProviders).toEqual(['cpu']);
  });
});

describe('the probe paths', () => {
  let base: string;
  let close: () => void;
  beforeAll(async () => {
    // The router every service mounts (checked below), on a real socket.
    const app = express();
    let ready = true;
    app.use(healthRoutes(async () => ({ dependency: ready })));
    app.get('/flip', (_req, res) => {
      ready = !ready;
      res.end();
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  test('/healthz and /readyz answer 200 on the shared health router, and /readyz 503 when a dependency is down', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await fetch(`${base}/flip`);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test.each(SERVICE_NAMES)("%s's HTTP app mounts the shared health router", (service) => {
    expect(readFileSync(join(REPO_ROOT, 'services', service, 'src', 'app.ts'), 'utf8')).toMatch(/\.use\(\s*healthRoutes\(/);
  });
});

describe("the Dockerfile's gpu target (the CUDA inference worker)", () => {
  const { stages, defaultStage } = readDockerfile();
  const gpu = stages.gpu!;
  const gpuBuild = stages['build-gpu']!;
  const cpu = stages[defaultStage]!;

  test("asks onnxruntime-node's postinstall for a CUDA build it knows, in the build stage", () => {
    const value = /^ENV ONNXRUNTIME_NODE_INSTALL=(\S+)$/m.exec(gpuBuild)?.[1];
    expect(value).toBeDefined();
    const require = createRequire(join(REPO_ROOT, 'package.json'));
    const metadata = require('onnxruntime-node/script/install-metadata.js') as { requirements: Record<string, string[]> };
    expect(metadata.requirements['linux/x64']).toContain(value);
    // The gpu image is made from that build stage.
    expect(gpu).toMatch(/^COPY --from=build-gpu .* \/app \/app$/m);
  });

  test('runs on an NVIDIA CUDA runtime image with cuDNN, as a non-root user, with the CPU image\'s command', () => {
    expect(readDockerfile().text).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu[\d.]+$/m);
    expect(gpu).toMatch(/^FROM \$\{CUDA_IMAGE\} AS gpu$/m);
    expect(gpu).toMatch(/^USER node$/m);
    const cmd = (text: string) => /^CMD .*$/m.exec(text)?.[0];
    expect(cmd(gpu)).toBeDefined();
    expect(cmd(gpu)).toBe(cmd(cpu));
    // And the start script both run is written the same way, from the service's package.json.
    const writer = (stage: string) => /^.*image-start-script\.ts.*$/m.exec(stage)?.[0].trim();
    expect(writer(gpuBuild)).toBeDefined();
    expect(writer(gpuBuild)).toBe(writer(stages.build!));
  });
});
