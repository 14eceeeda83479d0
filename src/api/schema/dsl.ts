// A small typed builder for the OpenAPI v3 schemas of our CRDs. Every kind in
// src/api/schema/kinds/*.ts is written with these helpers so that it reads like
// the field tables of the compatibility spec; scripts/generate-crds.ts turns the
// result into CRD YAML (see render.ts) and TypeScript interfaces.

/** One `x-kubernetes-validations` entry. */
export interface CelRule {
  rule: string;
  message: string;
  /** Optional JSON path (relative to the node) the error is reported on. */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this project emits. */
export interface JSONSchemaProps {
  description?: string;
  type?: "object" | "array" | "string" | "integer" | "boolean" | "number";
  format?: string;
  enum?: readonly (string | number)[];
  pattern?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: CelRule[];
}

interface NodeBase {
  readonly description?: string;
  readonly rules?: readonly CelRule[];
}

export interface StringNode extends NodeBase {
  readonly kind: "string";
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly format?: string;
  readonly default?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface IntNode extends NodeBase {
  readonly kind: "integer";
  readonly format?: "int32" | "int64";
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: number;
}

export interface BoolNode extends NodeBase {
  readonly kind: "boolean";
  readonly default?: boolean;
}

export interface ObjectNode extends NodeBase {
  readonly kind: "object";
  readonly fields: Readonly<Record<string, Field>>;
  /** Name of the generated TypeScript interface; derived from the path when absent. */
  readonly tsName?: string;
  /** Keep fields the schema does not list (use sparingly, and say why). */
  readonly preserveUnknownFields?: boolean;
}

export interface MapNode extends NodeBase {
  readonly kind: "map";
  readonly values: SchemaNode;
  readonly maxProperties?: number;
}

export interface ArrayNode extends NodeBase {
  readonly kind: "array";
  readonly items: SchemaNode;
  readonly maxItems?: number;
  readonly listType?: "atomic" | "set" | "map";
  readonly listMapKeys?: readonly string[];
}

export type SchemaNode = StringNode | IntNode | BoolNode | ObjectNode | MapNode | ArrayNode;

export interface Field {
  readonly node: SchemaNode;
  readonly required: boolean;
}

const REQUIRED = Symbol("required");

/** Marks an object field as required (`required:` in the schema, non-optional in TypeScript). */
export interface RequiredField {
  readonly [REQUIRED]: true;
  readonly node: SchemaNode;
}

export function req(node: SchemaNode): RequiredField {
  return { [REQUIRED]: true, node };
}

function isRequired(v: SchemaNode | RequiredField): v is RequiredField {
  return (v as RequiredField)[REQUIRED] === true;
}

type Opts<T extends SchemaNode> = Omit<T, "kind" | "description" | "fields" | "values" | "items">;

export function str(description?: string, opts: Opts<StringNode> = {}): StringNode {
  return { kind: "string", description, ...opts };
}

/** A string restricted to the given values. */
export function enumOf<const V extends string>(
  values: readonly V[],
  description?: string,
  opts: Omit<Opts<StringNode>, "enum"> = {},
): StringNode {
  return { kind: "string", description, enum: values, ...opts };
}

export function int(description?: string, opts: Opts<IntNode> = {}): IntNode {
  return { kind: "integer", description, ...opts };
}

export function int64(description?: string, opts: Omit<Opts<IntNode>, "format"> = {}): IntNode {
  return { kind: "integer", description, format: "int64", ...opts };
}

export function bool(description?: string, opts: Opts<BoolNode> = {}): BoolNode {
  return { kind: "boolean", description, ...opts };
}

export function obj(
  fields: Record<string, SchemaNode | RequiredField>,
  description?: string,
  opts: Omit<Opts<ObjectNode>, "fields"> = {},
): ObjectNode {
  const out: Record<string, Field> = {};
  for (const [name, v] of Object.entries(fields)) {
    out[name] = isRequired(v) ? { node: v.node, required: true } : { node: v, required: false };
  }
  return { kind: "object", fields: out, description, ...opts };
}

/** map[string]V, rendered as `additionalProperties`. */
export function map(values: SchemaNode, description?: string, opts: Opts<MapNode> = {}): MapNode {
  return { kind: "map", values, description, ...opts };
}

export function arr(items: SchemaNode, description?: string, opts: Opts<ArrayNode> = {}): ArrayNode {
  return { kind: "array", items, description, ...opts };
}

/** The same node with another description (shared structs keep their TypeScript name). */
export function doc<T extends SchemaNode>(node: T, description: string): T {
  return { ...node, description };
}

// ---------------------------------------------------------------------------
// CEL helpers. Every rule is evaluated with `self` bound to the node carrying
// it; optional fields are always guarded with has() so that absent fields never
// produce a "no such key" error.

/** CEL: the optional string field is present and non-empty. */
export function celSet(field: string): string {
  return `(has(self.${field}) && self.${field} != '')`;
}

/** Rule: at most one of two optional string fields may be set (empty strings count as unset). */
export function mutuallyExclusive(a: string, b: string): CelRule {
  return { rule: `!(${celSet(a)} && ${celSet(b)})`, message: `${a} and ${b} are mutually exclusive` };
}

// ---------------------------------------------------------------------------
// Rendering to OpenAPI.

export function toOpenAPI(node: SchemaNode): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  if (node.description) out.description = node.description;
  switch (node.kind) {
    case "string":
      out.type = "string";
      if (node.format) out.format = node.format;
      if (node.enum) out.enum = [...node.enum];
      if (node.pattern) out.pattern = node.pattern;
      if (node.minLength !== undefined) out.minLength = node.minLength;
      if (node.maxLength !== undefined) out.maxLength = node.maxLength;
      if (node.default !== undefined) out.default = node.default;
      break;
    case "integer":
      out.type = "integer";
      if (node.format) out.format = node.format;
      if (node.minimum !== undefined) out.minimum = node.minimum;
      if (node.maximum !== undefined) out.maximum = node.maximum;
      if (node.default !== undefined) out.default = node.default;
      break;
    case "boolean":
      out.type = "boolean";
      if (node.default !== undefined) out.default = node.default;
      break;
    case "object": {
      out.type = "object";
      const names = Object.keys(node.fields);
      if (names.length > 0) {
        out.properties = {};
        for (const name of names) out.properties[name] = toOpenAPI(node.fields[name].node);
      }
      const required = names.filter((n) => node.fields[n].required);
      if (required.length > 0) out.required = required;
      if (node.preserveUnknownFields) out["x-kubernetes-preserve-unknown-fields"] = true;
      break;
    }
    case "map":
      out.type = "object";
      out.additionalProperties = toOpenAPI(node.values);
      if (node.maxProperties !== undefined) out.maxProperties = node.maxProperties;
      break;
    case "array":
      out.type = "array";
      out.items = toOpenAPI(node.items);
      if (node.maxItems !== undefined) out.maxItems = node.maxItems;
      if (node.listType) out["x-kubernetes-list-type"] = node.listType;
      if (node.listMapKeys) out["x-kubernetes-list-map-keys"] = [...node.listMapKeys];
      break;
  }
  if (node.rules && node.rules.length > 0) {
    out["x-kubernetes-validations"] = node.rules.map((r) => ({ ...r }));
  }
  return out;
}
