// JSON schemas for the parts of the four Kubernetes kinds that the engine reads. Unknown fields
// are allowed everywhere (real objects carry much more). Rules that relate two fields (peer
// kinds, except inside cidr, endPort vs port, selector operator vs values) live in
// policy-rules.ts, where they get precise messages.

const nonEmpty = { type: 'string', minLength: 1 } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const protocol = { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] } as const;

/** Label keys and values as the API validates them in selectors. */
export const labelMapSchema = {
  type: 'object',
  propertyNames: { type: 'string', format: 'label-key' },
  additionalProperties: { type: 'string', format: 'label-value' },
} as const;

const objectMeta = (namespaced: boolean) =>
  ({
    type: 'object',
    required: namespaced ? ['name', 'namespace'] : ['name'],
    properties: {
      name: nonEmpty,
      ...(namespaced ? { namespace: nonEmpty } : {}),
      uid: { type: 'string' },
      resourceVersion: { type: 'string' },
      labels: stringMap,
      annotations: stringMap,
    },
  }) as const;

export const selectorSchema = {
  type: 'object',
  properties: {
    matchLabels: labelMapSchema,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', format: 'label-key' },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string', format: 'label-value' } },
        },
      },
    },
  },
} as const;

export const policyTypesSchema = {
  type: 'array',
  items: { type: 'string', enum: ['Ingress', 'Egress'] },
  uniqueItems: true,
} as const;

const policyPort = {
  type: 'object',
  properties: {
    protocol,
    // int-or-string: a number 1-65535 or an IANA_SVC_NAME
    port: {
      if: { type: 'integer' },
      then: { type: 'integer', minimum: 1, maximum: 65535, 'x-problem': 'must be between 1 and 65535' },
      else: {
        type: 'string',
        format: 'iana-svc-name',
        'x-problem':
          'must be a port number (1-65535) or a port name (1-15 lowercase letters, digits and "-", at least one letter, no "-" at either end, no "--")',
      },
    },
    endPort: port,
  },
} as const;

const peer = {
  type: 'object',
  properties: {
    podSelector: selectorSchema,
    namespaceSelector: selectorSchema,
    ipBlock: {
      type: 'object',
      required: ['cidr'],
      properties: {
        cidr: { type: 'string', format: 'cidr' },
        except: { type: 'array', items: { type: 'string', format: 'cidr' } },
      },
    },
  },
} as const;

const rule = (peers: 'from' | 'to') =>
  ({
    type: 'object',
    properties: {
      ports: { type: 'array', items: policyPort },
      [peers]: { type: 'array', items: peer },
    },
  }) as const;

export const policySchema = {
  type: 'object',
  required: ['metadata', 'spec'],
  properties: {
    apiVersion: { const: 'k8s.cni.cncf.io/v1beta1' },
    kind: { const: 'MultiNetworkPolicy' },
    metadata: objectMeta(true),
    spec: {
      type: 'object',
      required: ['podSelector'],
      properties: {
        podSelector: selectorSchema,
        policyTypes: policyTypesSchema,
        ingress: { type: 'array', items: rule('from') },
        egress: { type: 'array', items: rule('to') },
      },
    },
  },
} as const;

export const podSchema = {
  type: 'object',
  required: ['metadata', 'spec'],
  properties: {
    kind: { const: 'Pod' },
    metadata: objectMeta(true),
    spec: {
      type: 'object',
      properties: {
        nodeName: { type: 'string' },
        hostNetwork: { type: 'boolean' },
        containers: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string' },
              ports: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['containerPort'],
                  properties: { name: { type: 'string' }, containerPort: port, protocol },
                },
              },
            },
          },
        },
      },
    },
    status: { type: 'object', properties: { phase: { type: 'string' } } },
  },
} as const;

export const namespaceSchema = {
  type: 'object',
  required: ['metadata'],
  properties: { kind: { const: 'Namespace' }, metadata: objectMeta(false) },
} as const;

export const networkSchema = {
  type: 'object',
  required: ['metadata'],
  properties: {
    kind: { const: 'NetworkAttachmentDefinition' },
    metadata: objectMeta(true),
    spec: { type: 'object', properties: { config: { type: 'string' } } },
  },
} as const;
