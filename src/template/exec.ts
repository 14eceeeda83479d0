// The executor: walks parse trees with the semantics of Go's text/template/exec.go.

import { Budget, BudgetExceeded, resultCost, withBudget } from "./budget.ts";
import { builtinFuncs, indirectInterface, isTrue } from "./builtins.ts";
import { formatValue } from "./fmt.ts";
import { type FuncDef, FuncError, type FuncMap } from "./funcdef.ts";
import { BoundedOutput, MAX_TEMPLATE_OUTPUT_BYTES } from "./limits.ts";
import { methodsOf } from "./methods.ts";
import {
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type FieldNode,
  type IdentifierNode,
  type ListNode,
  type Node,
  type NumberNode,
  nodeString,
  type PipeNode,
  type TemplateNode,
  type Tree,
  type VariableNode,
} from "./parse.ts";
import { quote } from "./strconv.ts";
import {
  byteLen,
  GoComplex,
  GoFunc,
  GoInt,
  GoStruct,
  GoTime,
  Iface,
  type IntType,
  isNilContainer,
  kindOf,
  mapType,
  nilMap,
  nilSlice,
  sliceType,
  sortedKeys,
  typeName,
  unwrap,
} from "./values.ts";

/** What stands in an error's safe message for a detail that may carry data from a value. */
export const WITHHELD = "<detail withheld: it may carry secret data>";

/** A template execution error, formatted like Go's ExecError. */
export class ExecError extends Error {
  readonly templateName: string;
  /**
   * The same error with every detail that may carry data from a value (a function's
   * arguments or its error text, a printed value) replaced by WITHHELD: the template
   * name, the position, the action and the function name remain.
   */
  readonly safeMessage: string;
  constructor(message: string, templateName: string, safeMessage: string = message) {
    super(message);
    this.templateName = templateName;
    this.safeMessage = safeMessage;
  }
}

const MISSING = Symbol("missing");
type Final = unknown | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}
const walkBreak = new BreakSignal();
const walkContinue = new ContinueSignal();

const maxExecDepth = 100000;

interface Variable {
  name: string;
  value: unknown;
}

export interface ExecEnv {
  lookup(name: string): Tree | undefined;
  funcs: FuncMap;
}

interface ResolvedFunc {
  fn: FuncDef;
  isBuiltin: boolean;
}

const resolvedCache = new WeakMap<FuncMap, Map<string, ResolvedFunc | null>>();

/** findFunction: template funcs first, then builtins (cached per function map). */
function findFunction(funcs: FuncMap, name: string): ResolvedFunc | null {
  let m = resolvedCache.get(funcs);
  if (m === undefined) {
    m = new Map();
    resolvedCache.set(funcs, m);
  }
  let r = m.get(name);
  if (r === undefined) {
    if (Object.hasOwn(funcs, name)) r = { fn: funcs[name], isBuiltin: false };
    else if (Object.hasOwn(builtinFuncs, name)) r = { fn: builtinFuncs[name], isBuiltin: true };
    else r = null;
    m.set(name, r);
  }
  return r;
}

function byteOffset(text: string, pos: number): number {
  return byteLen(text.slice(0, pos));
}

/** Go's Tree.ErrorContext: "name:line:col" and the node text. */
export function errorContext(n: Node): [string, string] {
  const tree = n.tree;
  const text = tree.text.slice(0, n.pos);
  const nl = text.lastIndexOf("\n");
  const col = nl === -1 ? byteOffset(tree.text, n.pos) : byteLen(text.slice(nl + 1));
  let lineNum = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineNum++;
  const context = nodeString(n);
  return [`${tree.parseName}:${lineNum}:${col}`, context];
}

class State {
  tmpl: Tree;
  env: ExecEnv;
  out: BoundedOutput;
  budget: Budget;
  node: Node | null = null;
  vars: Variable[];
  depth: number;

  constructor(tmpl: Tree, env: ExecEnv, out: BoundedOutput, budget: Budget, vars: Variable[], depth: number) {
    this.tmpl = tmpl;
    this.env = env;
    this.out = out;
    this.budget = budget;
    this.vars = vars;
    this.depth = depth;
  }

  /** Pays `n` steps of the execution budget, failing the execution (at `node`) once it is spent. */
  step(n: number, node?: Node): void {
    if (this.budget.charge(n)) return;
    if (node !== undefined) this.at(node);
    this.errorf(this.budget.message(), true);
  }
  /** Appends to the output, failing the execution once it would pass the size bound. */
  write(text: string): void {
    if (!this.out.push(text)) {
      this.errorf(`template output exceeds the limit of ${MAX_TEMPLATE_OUTPUT_BYTES} bytes`, true);
    }
  }

  at(n: Node): void {
    this.node = n;
  }

  /**
   * Fails the execution with Go's message. `dataFree` is the message without data from
   * any value: `true` when `msg` itself is (it names only types, fields and template
   * text), a rewording, or absent when the whole detail is to be withheld.
   */
  errorf(msg: string, dataFree?: string | true): never {
    const name = this.tmpl.name;
    let prefix: string;
    if (this.node === null) prefix = `template: ${name}: `;
    else {
      const [location, context] = errorContext(this.node);
      prefix = `template: ${location}: executing ${quote(name)} at <${context}>: `;
    }
    const safe = dataFree === true ? msg : (dataFree ?? WITHHELD);
    throw new ExecError(prefix + msg, name, prefix + safe);
  }

  mark(): number {
    return this.vars.length;
  }
  pop(mark: number): void {
    this.vars.length = mark;
  }
  push(name: string, value: unknown): void {
    this.vars.push({ name, value });
  }
  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`, true);
  }
  setTopVar(n: number, value: unknown): void {
    this.vars[this.vars.length - n].value = value;
  }
  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) return this.vars[i].value;
    }
    this.errorf(`undefined variable: ${name}`, true);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    // A list is paid for by its nodes (and names no action an error could point at).
    if (node.type !== "list") this.step(1);
    switch (node.type) {
      case "action": {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case "break":
        throw walkBreak;
      case "comment":
        return;
      case "continue":
        throw walkContinue;
      case "if":
      case "with":
        this.walkIfOrWith(dot, node);
        return;
      case "list":
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case "range":
        this.walkRange(dot, node);
        return;
      case "template":
        this.walkTemplate(dot, node);
        return;
      case "text":
        this.write(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`, true);
    }
  }

  walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const [truth, ok] = isTrue(indirectInterface(val));
      if (!ok) this.errorf(`if/with can't use ${formatValue(val)}`, `if/with can't use ${WITHHELD}`);
      if (truth) {
        if (node.type === "with") this.walk(val, node.list);
        else this.walk(dot, node.list);
      } else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outerMark = this.mark();
    try {
      const raw = this.evalPipeline(dot, r.pipe);
      const val = unwrap(raw);
      const mark = this.mark();
      const oneIteration = (index: unknown, elem: unknown): void => {
        this.step(1, r);
        const decl = r.pipe.decl;
        if (decl.length > 0) {
          if (r.pipe.isAssign) {
            if (decl.length > 1) this.setVar(decl[0].ident[0], index);
            else this.setVar(decl[0].ident[0], elem);
          } else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.setTopVar(2, index);
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== walkContinue) throw e;
        } finally {
          this.pop(mark);
        }
      };
      const k = kindOf(val);
      let ran = false;
      try {
        if (val instanceof GoInt) {
          if (r.pipe.decl.length > 1)
            this.errorf(
              `can't use ${formatValue(val)} to iterate over more than one variable`,
              `can't use ${WITHHELD} to iterate over more than one variable`,
            );
          for (let i = 0n; i < val.v; i++) {
            ran = true;
            oneIteration(undefined, new GoInt(val.t, i));
          }
        } else if (Array.isArray(val)) {
          const iface = sliceType(val) === "[]interface {}";
          for (let i = 0; i < val.length; i++) {
            ran = true;
            oneIteration(new GoInt("int", BigInt(i)), iface ? new Iface(val[i]) : val[i]);
          }
        } else if (val instanceof Uint8Array) {
          for (let i = 0; i < val.length; i++) {
            ran = true;
            oneIteration(new GoInt("int", BigInt(i)), new GoInt("uint8", BigInt(val[i])));
          }
        } else if (val instanceof Map) {
          const iface = mapType(val) === "map[string]interface {}";
          for (const key of sortedKeys(val)) {
            ran = true;
            const v = val.get(key);
            oneIteration(key, iface ? new Iface(v) : v);
          }
        } else if (val === undefined || val === null) {
          // an invalid value acts like an empty map
        } else {
          this.errorf(
            `range can't iterate over ${formatValue(val instanceof GoStruct && val.ptr ? new GoStruct(val.type, [...val.fields], false) : val)}`,
            `range can't iterate over ${WITHHELD}`,
          );
        }
      } catch (e) {
        if (e !== walkBreak) throw e;
        return;
      }
      void k;
      if (ran) return;
      if (r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outerMark);
    }
  }

  walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const tmpl = this.env.lookup(t.name);
    if (tmpl === undefined) this.errorf(`template ${quote(t.name)} not defined`, true);
    if (this.depth === maxExecDepth) this.errorf(`exceeded maximum template depth (${maxExecDepth})`, true);
    const newDot = this.evalPipeline(dot, t.pipe);
    const st = new State(
      tmpl,
      this.env,
      this.out,
      this.budget,
      [{ name: "$", value: newDot }],
      this.depth + 1,
    );
    try {
      st.walk(newDot, tmpl.root!);
    } catch (e) {
      // JavaScript's stack is much smaller than Go's: report runaway recursion like Go does.
      if (e instanceof RangeError) {
        this.at(t);
        this.errorf(`exceeded maximum template depth (${maxExecDepth})`, true);
      }
      throw e;
    }
  }

  evalPipeline(dot: unknown, pipe: PipeNode | null): unknown {
    if (pipe === null) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value instanceof Iface) value = value.v === null ? undefined : value.v;
      else if (value === null) value = undefined;
    }
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0], value);
      else this.push(variable.ident[0], value);
    }
    return value;
  }

  notAFunction(args: Node[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`, true);
    }
  }

  evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.type) {
      case "field":
        return this.evalFieldNode(dot, first, cmd.args, final);
      case "chain":
        return this.evalChainNode(dot, first, cmd.args, final);
      case "identifier":
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case "pipe":
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case "variable":
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        this.errorf("nil is not a command", true);
        break;
      case "number":
        return this.idealConstant(first);
      case "string":
        return first.text;
    }
    this.errorf(`can't evaluate command ${quote(nodeString(first))}`, true);
  }

  idealConstant(c: NumberNode): unknown {
    this.at(c);
    const isHexInt =
      c.text.length > 2 &&
      c.text[0] === "0" &&
      (c.text[1] === "x" || c.text[1] === "X") &&
      !/[pP]/.test(c.text);
    const isRuneInt = c.text.length > 0 && c.text[0] === "'";
    if (c.isComplex) return new GoComplex(c.complexRe, c.complexIm);
    if (c.isFloat && !isHexInt && !isRuneInt && /[.eEpP]/.test(c.text)) return c.float64;
    if (c.isInt) return new GoInt("int", c.int64);
    if (c.isUint) this.errorf(`${c.text} overflows int`, true);
    return undefined;
  }

  evalFieldNode(dot: unknown, field: FieldNode, args: Node[], final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  evalChainNode(dot: unknown, chain: ChainNode, args: Node[], final: Final): unknown {
    this.at(chain);
    if (chain.field.length === 0) this.errorf("internal error: no fields in evalChainNode", true);
    if (chain.node.type === "nil")
      this.errorf(`indirection through explicit nil in ${nodeString(chain)}`, true);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariableNode(dot: unknown, variable: VariableNode, args: Node[], final: Final): unknown {
    this.at(variable);
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: Node,
    ident: string[],
    args: Node[],
    final: Final,
  ): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  evalFunction(dot: unknown, node: IdentifierNode, cmd: Node, args: Node[], final: Final): unknown {
    this.at(node);
    const name = node.ident;
    const r = findFunction(this.env.funcs, name);
    if (r === null) this.errorf(`${quote(name)} is not a defined function`, true);
    return this.evalCall(dot, r.fn, r.isBuiltin, cmd, name, args, final);
  }

  evalField(
    dot: unknown,
    fieldName: string,
    node: Node,
    args: Node[],
    final: Final,
    receiver: unknown,
  ): unknown {
    if (receiver === undefined) return undefined;
    const typ = receiver instanceof Iface ? "interface {}" : typeName(receiver);
    // indirect
    let isNil = false;
    let recv = receiver;
    if (recv instanceof Iface) {
      if (recv.v === null || recv.v === undefined) isNil = true;
      else recv = recv.v;
    }
    if (receiver instanceof Iface && isNil) {
      this.errorf(`nil pointer evaluating ${typ}.${fieldName}`, true);
    }
    if (recv === null) this.errorf(`nil pointer evaluating ${typ}.${fieldName}`, true);
    const methods = methodsOf(recv);
    if (methods !== undefined && Object.hasOwn(methods, fieldName)) {
      return this.evalCall(dot, methods[fieldName], false, node, fieldName, args, final);
    }
    const hasArgs = args.length > 1 || final !== MISSING;
    if (recv instanceof GoStruct) {
      if (recv.fields.has(fieldName)) {
        if (fieldName[0] < "A" || fieldName[0] > "Z") {
          this.errorf(`${fieldName} is an unexported field of struct type ${typ}`, true);
        }
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`, true);
        return recv.fields.get(fieldName);
      }
    } else if (recv instanceof GoTime) {
      // time.Time has only unexported fields
    } else if (recv instanceof Map) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`, true);
      if (!recv.has(fieldName)) return undefined;
      const v = recv.get(fieldName);
      return mapType(recv) === "map[string]interface {}" ? new Iface(v) : v;
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typ}`, true);
  }

  evalCall(
    dot: unknown,
    fn: FuncDef,
    isBuiltin: boolean,
    node: Node,
    name: string,
    argNodes: Node[],
    final: Final,
  ): unknown {
    const args = argNodes.length > 0 ? argNodes.slice(1) : [];
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    let numFixed = args.length;
    const nParams = fn.params.length;
    if (fn.variadic) {
      numFixed = nParams - 1;
      if (numIn < numFixed) {
        this.errorf(
          `wrong number of args for ${name}: want at least ${nParams - 1} got ${args.length}`,
          true,
        );
      }
    } else if (numIn !== nParams) {
      this.errorf(`wrong number of args for ${name}: want ${nParams} got ${numIn}`, true);
    }

    if (isBuiltin && (name === "and" || name === "or")) {
      let v: unknown;
      for (const arg of args) {
        v = this.evalArg(dot, "reflect.Value", arg);
        const [t] = isTrue(indirectInterface(v));
        if (t === (name === "or")) return v;
      }
      if (final !== MISSING) v = this.validateType(final, "reflect.Value");
      return v;
    }

    const argv: unknown[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i], args[i]));
    if (fn.variadic) {
      const t = fn.params[nParams - 1];
      for (; i < args.length; i++) argv.push(this.evalArg(dot, t, args[i]));
    }
    if (final !== MISSING) {
      let t = fn.params[nParams - 1];
      if (fn.variadic && numIn - 1 < numFixed) t = fn.params[numIn - 1];
      argv.push(this.validateType(final, t));
    }
    let result: unknown;
    let callArgs: unknown[] = [];
    try {
      callArgs = argv.map((a, idx) => {
        const pt = idx < nParams ? fn.params[idx] : fn.params[nParams - 1];
        return pt === "reflect.Value" ? a : toArg(a);
      });
      // A function's work grows with the strings it reads: pay for them before the call.
      let argCost = 0;
      for (const a of callArgs) if (typeof a === "string") argCost += resultCost(a);
      if (argCost > 0) this.step(argCost, node);
      if (isBuiltin && name === "call") {
        callArgs.unshift(args.length === 0 ? `<${typeName(unwrap(final))} Value>` : nodeString(args[0]));
      }
      result = (fn.fn as (...a: unknown[]) => unknown)(...callArgs);
    } catch (e) {
      if (e instanceof FuncError) {
        this.at(node);
        this.errorf(
          `error calling ${name}: ${e.message}`,
          `error calling ${name}: ${e.dataFree ?? WITHHELD}`,
        );
      }
      if (e instanceof ExecError) throw e;
      if (e instanceof RangeError && /call stack/.test(e.message)) throw e;
      this.at(node);
      this.errorf(
        `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`,
        `error calling ${name}: ${WITHHELD}`,
      );
    }
    if (typeof result === "string" && result.length > MAX_TEMPLATE_OUTPUT_BYTES) {
      this.at(node);
      this.errorf(
        `error calling ${name}: result exceeds the limit of ${MAX_TEMPLATE_OUTPUT_BYTES} bytes`,
        true,
      );
    }
    // A result that is one of the arguments (set returns the map it changed) was paid for.
    this.step(argv.includes(result) || callArgs.includes(result) ? 1 : 1 + resultCost(result), node);
    if (fn.ret === "interface {}" && !isBuiltin) return new Iface(result === undefined ? null : result);
    return result;
  }

  evalArg(dot: unknown, typ: string | null, n: Node): unknown {
    this.at(n);
    switch (n.type) {
      case "dot":
        return this.validateType(dot, typ);
      case "nil":
        if (typ !== null && canBeNil(typ)) return zeroOf(typ);
        this.errorf(`cannot assign nil to ${typ}`, true);
        break;
      case "field":
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case "variable":
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case "pipe":
        return this.validateType(this.evalPipeline(dot, n), typ);
      case "identifier":
        return this.validateType(this.evalFunction(dot, n, n, [], MISSING), typ);
      case "chain":
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ);
    }
    if (typ === null) this.errorf(`can't handle ${nodeString(n)} for arg of type <nil>`, true);
    switch (typ) {
      case "bool":
        if (n.type === "bool") return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`, true);
        break;
      case "float64":
      case "float32":
        if (n.type === "number" && n.isFloat) return n.float64;
        this.errorf(`expected float; found ${nodeString(n)}`, true);
        break;
      case "int":
      case "int8":
      case "int16":
      case "int32":
      case "int64":
        if (n.type === "number" && n.isInt) return new GoInt(typ as IntType, n.int64);
        this.errorf(`expected integer; found ${nodeString(n)}`, true);
        break;
      case "uint":
      case "uint8":
      case "uint16":
      case "uint32":
      case "uint64":
        if (n.type === "number" && n.isUint) return new GoInt(typ as IntType, n.uint64);
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`, true);
        break;
      case "interface {}":
      case "reflect.Value":
        return this.evalEmptyInterface(dot, n);
      case "string":
        if (n.type === "string") return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`, true);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`, true);
  }

  evalEmptyInterface(dot: unknown, n: Node): unknown {
    this.at(n);
    switch (n.type) {
      case "bool":
        return n.value;
      case "dot":
        return dot;
      case "field":
        return this.evalFieldNode(dot, n, [], MISSING);
      case "identifier":
        return this.evalFunction(dot, n, n, [], MISSING);
      case "nil":
        this.errorf("evalEmptyInterface: nil (can't happen)", true);
        break;
      case "number":
        return this.idealConstant(n);
      case "string":
        return n.text;
      case "variable":
        return this.evalVariableNode(dot, n, [], MISSING);
      case "pipe":
        return this.evalPipeline(dot, n);
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`, true);
  }

  validateType(value: unknown, typ: string | null): unknown {
    if (value === undefined) {
      if (typ === null) return undefined;
      if (canBeNil(typ)) return zeroOf(typ);
      this.errorf(`invalid value; expected ${typ}`, true);
    }
    if (typ === "reflect.Value") return value;
    if (typ !== null && !assignable(value, typ)) {
      if (value instanceof Iface && value.v !== null && value.v !== undefined) {
        const inner = value.v;
        if (assignable(inner, typ)) return inner;
        this.errorf(`wrong type for value; expected ${typ}; got ${typeName(inner)}`, true);
      }
      this.errorf(
        `wrong type for value; expected ${typ}; got ${value instanceof Iface ? "interface {}" : typeName(value)}`,
        true,
      );
    }
    return value;
  }

  printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v instanceof Iface) v = v.v;
    if (v === undefined) {
      this.write("<no value>");
      return;
    }
    if (v instanceof GoStruct && v.ptr) {
      this.write(this.format(new GoStruct(v.type, [...v.fields], false)));
      return;
    }
    if (v instanceof GoFunc) this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`, true);
    this.write(this.format(v));
  }

  /** formatValue, failing the execution at this node when the walk of the value spends the budget. */
  format(v: unknown): string {
    try {
      return formatValue(v);
    } catch (e) {
      if (e instanceof BudgetExceeded) this.errorf(e.message, true);
      throw e;
    }
  }
}

function assignable(value: unknown, typ: string): boolean {
  if (typ === "interface {}") return true;
  if (value instanceof Iface) return false;
  if (value === null) return false;
  return typeName(value) === typ;
}

export function canBeNil(typ: string): boolean {
  return (
    typ === "interface {}" ||
    typ === "reflect.Value" ||
    typ.startsWith("[]") ||
    typ.startsWith("map[") ||
    typ.startsWith("*") ||
    typ.startsWith("func")
  );
}

function zeroOf(typ: string): unknown {
  if (typ === "interface {}") return null;
  if (typ === "reflect.Value") return undefined;
  if (typ.startsWith("[]")) return nilSlice(typ);
  if (typ.startsWith("map[")) return nilMap(typ);
  return null;
}

/** Value passed to a Go function parameter of a concrete or interface{} type. */
function toArg(a: unknown): unknown {
  if (a instanceof Iface) return a.v === undefined ? null : a.v;
  if (a === undefined) return null;
  return a;
}

/** Execute one template tree within a step and time budget. Returns the output text; throws ExecError. */
export function execute(tree: Tree, env: ExecEnv, data: unknown, budget: Budget = new Budget()): string {
  const out = new BoundedOutput();
  const st = new State(tree, env, out, budget, [{ name: "$", value: data }], 0);
  if (tree.root === null) {
    throw new ExecError(
      `template: ${tree.name}: ${quote(tree.name)} is an incomplete or empty template`,
      tree.name,
    );
  }
  try {
    withBudget(budget, () => st.walk(data, tree.root!));
  } catch (e) {
    if (e instanceof RangeError && /call stack/.test(e.message)) {
      throw new ExecError(`template: ${tree.name}: exceeded maximum template depth`, tree.name);
    }
    if (e instanceof BudgetExceeded) {
      throw new ExecError(`template: ${tree.name}: ${e.message}`, tree.name);
    }
    throw e;
  }
  return out.text();
}

export type { ListNode };
export { isNilContainer, typeName };
