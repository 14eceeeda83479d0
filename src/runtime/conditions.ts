// metav1.Condition handling (as Flux's runtime/conditions): one condition per
// type, lastTransitionTime moves only when the status flips, and every
// condition set states the generation it was computed from (setCondition
// requires observedGeneration, so no caller can forget it; undefined only for
// an object that has no generation).
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** A condition to set: its transition time is computed, its generation must be given. */
export type NewCondition = Omit<Condition, "lastTransitionTime" | "observedGeneration"> & {
  observedGeneration: number | undefined;
};

export function setCondition(
  conditions: Condition[] | undefined,
  c: NewCondition,
  now = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const ts = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const { observedGeneration, ...rest } = c;
  const gen = observedGeneration === undefined ? {} : { observedGeneration };
  if (i < 0) {
    list.push({ ...rest, lastTransitionTime: ts, ...gen });
  } else {
    const prev = list[i];
    list[i] = {
      ...rest,
      lastTransitionTime: prev.status === c.status ? prev.lastTransitionTime : ts,
      ...gen,
    };
  }
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function boolStatus(ok: boolean): "True" | "False" {
  return ok ? "True" : "False";
}
