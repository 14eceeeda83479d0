// The definition of one custom resource kind: names, printer columns, and the
// spec and status schemas. src/api/schema/kinds/*.ts hold one per kind.
import type { PrinterColumn } from "./common.ts";
import type { ObjectNode } from "./dsl.ts";

export interface KindDef {
  kind: string;
  plural: string;
  singular: string;
  listKind: string;
  /** Description of the resource (the top-level schema description). */
  description: string;
  /** Whether this build of vso-ts runs a controller for the kind. The CRD is installed either way. */
  served: boolean;
  printerColumns: readonly PrinterColumn[];
  spec: ObjectNode;
  /** Whether `spec` itself is required (true when it has required fields). */
  specRequired: boolean;
  status: ObjectNode;
}

export function defineKind(
  def: Omit<KindDef, "plural" | "singular" | "listKind" | "specRequired"> & { plural?: string },
): KindDef {
  const singular = def.kind.toLowerCase();
  return {
    ...def,
    singular,
    plural: def.plural ?? `${singular}s`,
    listKind: `${def.kind}List`,
    specRequired: Object.values(def.spec.fields).some((f) => f.required),
  };
}
