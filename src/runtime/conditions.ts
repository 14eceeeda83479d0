// metav1.Condition handling: one condition per type, lastTransitionTime moves
// only when the status flips, observedGeneration is always set.
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export function setCondition(
  conditions: Condition[] | undefined,
  c: Omit<Condition, "lastTransitionTime">,
  now = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const ts = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (i < 0) {
    list.push({ ...c, lastTransitionTime: ts });
  } else {
    const prev = list[i];
    list[i] = { ...c, lastTransitionTime: prev.status === c.status ? prev.lastTransitionTime : ts };
  }
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function boolStatus(ok: boolean): "True" | "False" {
  return ok ? "True" : "False";
}
