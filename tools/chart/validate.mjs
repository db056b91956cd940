// Validates rendered Kubernetes objects without a cluster, in three layers:
// 1. schema: each object against the JSON schema of its kind, from the kubernetes-models packages (the Kubernetes
//    OpenAPI, prometheus-operator and KEDA CRDs compiled to validators): required fields, types, enums, formats;
// 2. strict fields: the objects type-checked by TypeScript against the same packages' declarations, so an unknown
//    or misspelt field (which the JSON schemas allow but `kubectl apply --validate=strict` rejects) fails;
// 3. references: what the API server does not check but a working release needs: Service, PDB and ServiceMonitor
//    selectors match pods/services, named ports exist, HPA/KEDA targets exist (and never both on one Deployment),
//    Ingress backends exist, ConfigMap/Secret references resolve, names and labels are valid.
import { join } from 'node:path';

import ts from 'typescript';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
};

/** The module of the kubernetes-models class for `apiVersion`/`kind`. */
export function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group) return `kubernetes-models/${version}/${kind}`;
  if (CRD_PACKAGES[group]) return `${CRD_PACKAGES[group]}/${group}/${version}/${kind}`;
  return `kubernetes-models/${group}/${version}/${kind}`;
}

const id = (object) => `${object.kind}/${object.metadata?.name}`;

async function schemaErrors(object) {
  let module;
  try {
    module = await import(modelModule(object.apiVersion, object.kind));
  } catch {
    return [`no schema for ${object.apiVersion} ${object.kind}`];
  }
  const Model = module[object.kind];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return String(error.message)
      .split(', data')
      .map((m, i) => (i === 0 ? m : `data${m}`))
      .map((m) => m.replace(/^data/, ''));
  }
}

// TypeScript's excess property checks against the models' interfaces. Source files are cached across calls.
const sourceCache = new Map();
const VIRTUAL = join(process.cwd(), '__rendered_manifests__.ts');

function strictFieldErrors(objects) {
  const imports = [];
  const decls = [];
  const lineOwner = [];
  let line = 0;
  objects.forEach((object, index) => {
    imports.push(`import type { I${object.kind} as T${index} } from '${modelModule(object.apiVersion, object.kind)}';`);
  });
  line = imports.length;
  objects.forEach((object, index) => {
    const text = `export const o${index}: T${index} = ${JSON.stringify(object, null, 1)};`;
    const lines = text.split('\n').length;
    for (let i = 0; i < lines; i++) lineOwner[line + i] = index;
    line += lines;
    decls.push(text);
  });
  const source = `${imports.join('\n')}\n${decls.join('\n')}\n`;
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es5.d.ts'],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2020,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion) => {
    if (fileName === VIRTUAL) return ts.createSourceFile(fileName, source, languageVersion);
    if (!sourceCache.has(fileName)) sourceCache.set(fileName, getSourceFile(fileName, languageVersion));
    return sourceCache.get(fileName);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === VIRTUAL || fileExists(fileName);
  const program = ts.createProgram([VIRTUAL], options, host);
  const errors = objects.map(() => []);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file?.fileName !== VIRTUAL || diagnostic.start === undefined) {
      throw new Error(`type declarations could not be loaded: ${message}`);
    }
    const { line: at } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const owner = lineOwner[at];
    if (owner === undefined) throw new Error(`type declarations could not be loaded: ${message}`);
    // Name the offending field by the JSON line it sits on.
    const fieldLine = source.split('\n')[at].trim();
    errors[owner].push(`${message.replace(/T\d+/g, objects[owner].kind)} (at ${fieldLine.slice(0, 80)})`);
  }
  return errors;
}

function matches(selector, labels) {
  if (!selector || !labels) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function podLabels(deployment) {
  return deployment.spec?.template?.metadata?.labels ?? {};
}

function containerPorts(workload) {
  return (workload.spec?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
}

function referenceErrors(objects, { externalSecrets = [], externalConfigMaps = [] } = {}) {
  const errors = new Map(objects.map((o) => [o, []]));
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
  const deployments = byKind('Deployment');
  const seen = new Set();

  for (const object of objects) {
    const problems = errors.get(object);
    const meta = object.metadata ?? {};
    const name = meta.name ?? '';
    if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) problems.push(`metadata.name "${name}" is not a DNS-1123 subdomain`);
    if (['Service', 'Deployment'].includes(object.kind) && (name.length > 63 || !DNS1035_LABEL.test(name))) {
      problems.push(`metadata.name "${name}" must be a DNS-1035 label (at most 63 characters)`);
    }
    const key = `${object.apiVersion.split('/')[0]}/${object.kind}/${meta.namespace ?? ''}/${name}`;
    if (seen.has(key)) problems.push(`duplicate object ${id(object)}`);
    seen.add(key);
    const allLabels = [meta.labels ?? {}, object.spec?.template?.metadata?.labels ?? {}];
    for (const labels of allLabels) {
      for (const [labelKey, value] of Object.entries(labels)) {
        if (!LABEL_NAME.test(labelKey)) problems.push(`label key "${labelKey}" is invalid`);
        if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`label ${labelKey}="${value}" is invalid`);
      }
    }
  }

  for (const workload of [...deployments, ...byKind('Job')]) {
    const problems = errors.get(workload);
    const pod = workload.spec?.template ?? {};
    if (workload.kind === 'Deployment') {
      const selector = workload.spec?.selector?.matchLabels;
      if (!matches(selector, pod.metadata?.labels)) problems.push('spec.selector.matchLabels does not match the pod template labels');
    }
    for (const container of pod.spec?.containers ?? []) {
      const ports = new Set((container.ports ?? []).map((p) => p.name));
      for (const port of container.ports ?? []) {
        if (port.name && (port.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port.name))) problems.push(`port name "${port.name}" is invalid`);
      }
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = container[probeName]?.httpGet?.port;
        if (typeof port === 'string' && !ports.has(port)) problems.push(`${container.name}.${probeName} uses unknown port "${port}"`);
      }
      const names = new Set();
      for (const env of container.env ?? []) {
        if (!ENV_NAME.test(env.name)) problems.push(`${container.name}: env name "${env.name}" is invalid`);
        if (names.has(env.name)) problems.push(`${container.name}: env ${env.name} is set twice`);
        names.add(env.name);
        const secretRef = env.valueFrom?.secretKeyRef;
        if (secretRef && !externalSecrets.includes(secretRef.name)) {
          const secret = find('Secret', secretRef.name);
          const keys = { ...(secret?.data ?? {}), ...(secret?.stringData ?? {}) };
          if (!secret) problems.push(`${container.name}: env ${env.name} reads missing Secret ${secretRef.name}`);
          else if (!(secretRef.key in keys) && !secretRef.optional) problems.push(`${container.name}: env ${env.name} reads missing key ${secretRef.key} of Secret ${secretRef.name}`);
        }
        const configRef = env.valueFrom?.configMapKeyRef;
        if (configRef && !externalConfigMaps.includes(configRef.name)) {
          const configMap = find('ConfigMap', configRef.name);
          if (!configMap || !(configRef.key in (configMap.data ?? {}))) problems.push(`${container.name}: env ${env.name} reads missing ConfigMap key ${configRef.name}/${configRef.key}`);
        }
      }
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !source.configMapRef.optional && !externalConfigMaps.includes(source.configMapRef.name) && !find('ConfigMap', source.configMapRef.name)) {
          problems.push(`${container.name}: envFrom reads missing ConfigMap ${source.configMapRef.name}`);
        }
        if (source.secretRef && !source.secretRef.optional && !externalSecrets.includes(source.secretRef.name) && !find('Secret', source.secretRef.name)) {
          problems.push(`${container.name}: envFrom reads missing Secret ${source.secretRef.name}`);
        }
      }
      const volumes = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
      for (const mount of container.volumeMounts ?? []) if (!volumes.has(mount.name)) problems.push(`${container.name}: mounts unknown volume ${mount.name}`);
    }
    const serviceAccount = pod.spec?.serviceAccountName;
    if (serviceAccount && serviceAccount !== 'default' && !find('ServiceAccount', serviceAccount)) problems.push(`uses missing ServiceAccount ${serviceAccount}`);
  }

  for (const service of byKind('Service')) {
    const problems = errors.get(service);
    const targets = deployments.filter((d) => matches(service.spec?.selector, podLabels(d)));
    if (targets.length !== 1) {
      problems.push(`selector matches ${targets.length} Deployments (want exactly 1)`);
      continue;
    }
    const names = new Set(containerPorts(targets[0]).map((p) => p.name));
    const numbers = new Set(containerPorts(targets[0]).map((p) => p.containerPort));
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (typeof target === 'string' ? !names.has(target) : !numbers.has(target)) problems.push(`targetPort ${target} is not a port of ${id(targets[0])}`);
    }
  }

  const scaled = new Map();
  const claimScaling = (object, targetName) => {
    if (scaled.has(targetName)) errors.get(object).push(`Deployment ${targetName} is already scaled by ${id(scaled.get(targetName))}`);
    scaled.set(targetName, object);
  };
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const problems = errors.get(hpa);
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = ref.kind === 'Deployment' ? find('Deployment', ref.name) : null;
    if (!target) {
      problems.push(`scaleTargetRef ${ref.kind}/${ref.name} is not rendered`);
      continue;
    }
    claimScaling(hpa, ref.name);
    if ((hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas) problems.push('minReplicas > maxReplicas');
    for (const metric of hpa.spec.metrics ?? []) {
      if (metric.type !== 'Resource') continue;
      const resource = metric.resource.name;
      for (const container of target.spec.template.spec.containers) {
        if (!container.resources?.requests?.[resource]) problems.push(`${resource} utilization needs ${container.name} to request ${resource}`);
      }
    }
  }
  for (const scaledObject of byKind('ScaledObject')) {
    const ref = scaledObject.spec?.scaleTargetRef ?? {};
    if (!find('Deployment', ref.name)) errors.get(scaledObject).push(`scaleTargetRef ${ref.name} is not a rendered Deployment`);
    else claimScaling(scaledObject, ref.name);
  }

  for (const pdb of byKind('PodDisruptionBudget')) {
    const problems = errors.get(pdb);
    if (pdb.spec?.minAvailable !== undefined && pdb.spec?.maxUnavailable !== undefined) problems.push('sets both minAvailable and maxUnavailable');
    const targets = deployments.filter((d) => matches(pdb.spec?.selector?.matchLabels, podLabels(d)));
    if (targets.length !== 1) problems.push(`selector matches ${targets.length} Deployments (want exactly 1)`);
  }

  for (const ingress of byKind('Ingress')) {
    const problems = errors.get(ingress);
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend?.service;
        const service = backend && find('Service', backend.name);
        if (!service) {
          problems.push(`path ${path.path} routes to missing Service ${backend?.name}`);
          continue;
        }
        const ok = (service.spec.ports ?? []).some((p) => (backend.port.name ? p.name === backend.port.name : p.port === backend.port.number));
        if (!ok) problems.push(`path ${path.path} routes to a port Service ${backend.name} does not expose`);
      }
    }
  }

  for (const monitor of byKind('ServiceMonitor')) {
    const problems = errors.get(monitor);
    const services = byKind('Service').filter((s) => matches(monitor.spec?.selector?.matchLabels, s.metadata?.labels));
    if (!services.length) problems.push('selects no rendered Service');
    for (const endpoint of monitor.spec?.endpoints ?? []) {
      for (const service of services) {
        if (!(service.spec.ports ?? []).some((p) => p.name === endpoint.port)) problems.push(`Service ${service.metadata.name} has no port named ${endpoint.port}`);
      }
    }
  }

  return objects.map((o) => errors.get(o));
}

/**
 * Validates rendered objects; returns one entry per object with its problems (empty when valid).
 * @param {object[]} objects
 * @param {{ externalSecrets?: string[], externalConfigMaps?: string[] }} [options] objects that exist outside the chart
 */
export async function validateObjects(objects, options = {}) {
  const schema = await Promise.all(objects.map(schemaErrors));
  const strict = strictFieldErrors(objects);
  const references = referenceErrors(objects, options);
  return objects.map((object, index) => ({
    id: id(object),
    errors: [...schema[index].map((e) => `schema: ${e}`), ...strict[index].map((e) => `strict: ${e}`), ...references[index].map((e) => `reference: ${e}`)],
  }));
}

