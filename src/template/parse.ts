// Lexer and parser with the grammar, trimming rules and error messages of Go's
// text/template/parse package.
import { goParseFloat, goParseInt, NumError, quote } from "./strconv.ts";

// ---- lexer ---------------------------------------------------------------------------------

export type ItemType =
  | "error"
  | "bool"
  | "char"
  | "charConstant"
  | "comment"
  | "complex"
  | "assign"
  | "declare"
  | "EOF"
  | "field"
  | "identifier"
  | "leftDelim"
  | "leftParen"
  | "number"
  | "pipe"
  | "rawString"
  | "rightDelim"
  | "rightParen"
  | "space"
  | "string"
  | "text"
  | "variable"
  // keywords
  | "block"
  | "break"
  | "continue"
  | "dot"
  | "define"
  | "else"
  | "end"
  | "if"
  | "nil"
  | "range"
  | "template"
  | "with";

const keywords: Record<string, ItemType> = {
  ".": "dot",
  block: "block",
  break: "break",
  continue: "continue",
  define: "define",
  else: "else",
  end: "end",
  if: "if",
  range: "range",
  nil: "nil",
  template: "template",
  with: "with",
};
const keywordTypes = new Set<ItemType>(Object.values(keywords));

export interface Item {
  typ: ItemType;
  pos: number;
  val: string;
  line: number;
}

export function itemString(i: Item): string {
  if (i.typ === "EOF") return "EOF";
  if (i.typ === "error") return i.val;
  if (keywordTypes.has(i.typ)) return `<${i.val}>`;
  const runes = [...i.val];
  if (runes.length > 10) return quote(runes.slice(0, 10).join("")) + "...";
  return quote(i.val);
}

const spaceChars = " \t\r\n";
function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}
const alnumRe = /^[_\p{L}\p{Nd}]$/u;
function isAlphaNumeric(c: string): boolean {
  if (c === "") return false;
  const x = c.charCodeAt(0);
  if (x < 128) return c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9");
  return alnumRe.test(c);
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s.length - at >= 2 && s[at] === "-" && isSpace(s[at + 1]);
}
function hasRightTrimMarker(s: string, at: number): boolean {
  return s.length - at >= 2 && isSpace(s[at]) && s[at + 1] === "-";
}

class Lexer {
  readonly input: string;
  readonly leftDelim = "{{";
  readonly rightDelim = "}}";
  pos = 0;
  start = 0;
  atEOF = false;
  parenDepth = 0;
  line = 1;
  startLine = 1;
  insideAction = false;
  items: Item[] = [];
  breakOK: boolean;
  continueOK: boolean;
  done = false;

  constructor(input: string, breakOK: boolean, continueOK: boolean) {
    this.input = input;
    this.breakOK = breakOK;
    this.continueOK = continueOK;
  }

  next(): string {
    if (this.pos >= this.input.length) {
      this.atEOF = true;
      return "";
    }
    const cp = this.input.codePointAt(this.pos)!;
    const c = String.fromCodePoint(cp);
    this.pos += c.length;
    if (c === "\n") this.line++;
    return c;
  }

  peek(): string {
    const save = this.pos;
    const saveLine = this.line;
    const saveEOF = this.atEOF;
    const c = this.next();
    this.pos = save;
    this.line = saveLine;
    this.atEOF = saveEOF;
    return c;
  }

  backup(c: string): void {
    if (!this.atEOF && this.pos > 0) {
      this.pos -= c.length;
      if (c === "\n") this.line--;
    }
    this.atEOF = false;
  }

  thisItem(t: ItemType): Item {
    const i: Item = {
      typ: t,
      pos: this.start,
      val: this.input.slice(this.start, this.pos),
      line: this.startLine,
    };
    this.start = this.pos;
    this.startLine = this.line;
    return i;
  }

  emit(t: ItemType): void {
    this.items.push(this.thisItem(t));
  }

  ignore(): void {
    this.line += countNL(this.input.slice(this.start, this.pos));
    this.start = this.pos;
    this.startLine = this.line;
  }

  accept(valid: string): boolean {
    const c = this.next();
    if (c !== "" && valid.includes(c)) return true;
    this.backup(c);
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const c = this.next();
      if (c === "" || !valid.includes(c)) {
        this.backup(c);
        return;
      }
    }
  }

  errorf(msg: string): void {
    this.items.push({ typ: "error", pos: this.start, val: msg, line: this.startLine });
    this.start = 0;
    this.pos = 0;
    this.input.length;
    this.done = true;
  }

  run(): Item[] {
    let state: (() => void) | null = () => this.lexText();
    this.nextState = null;
    while (!this.done && state) {
      state();
      state = this.nextState;
      this.nextState = null;
    }
    return this.items;
  }

  nextState: (() => void) | null = null;
  go(fn: () => void): void {
    this.nextState = fn;
  }

  lexText(): void {
    const x = this.input.indexOf(this.leftDelim, this.pos);
    if (x >= 0) {
      if (x > this.pos) {
        this.pos = x;
        let trimLength = 0;
        const delimEnd = this.pos + this.leftDelim.length;
        if (hasLeftTrimMarker(this.input, delimEnd)) {
          const s = this.input.slice(this.start, this.pos);
          trimLength = s.length - trimRight(s).length;
        }
        this.pos -= trimLength;
        this.line += countNL(this.input.slice(this.start, this.pos));
        const i = this.thisItem("text");
        this.pos += trimLength;
        this.ignore();
        if (i.val.length > 0) this.items.push(i);
      }
      this.go(() => this.lexLeftDelim());
      return;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) {
      this.line += countNL(this.input.slice(this.start, this.pos));
      this.emit("text");
    }
    this.emit("EOF");
    this.done = true;
  }

  atRightDelim(): [boolean, boolean] {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(this.rightDelim, this.pos + 2)) {
      return [true, true];
    }
    if (this.input.startsWith(this.rightDelim, this.pos)) return [true, false];
    return [false, false];
  }

  lexLeftDelim(): void {
    this.pos += this.leftDelim.length;
    const trimSpace = hasLeftTrimMarker(this.input, this.pos);
    const afterMarker = trimSpace ? 2 : 0;
    if (this.input.startsWith("/*", this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      this.go(() => this.lexComment());
      return;
    }
    const i = this.thisItem("leftDelim");
    this.insideAction = true;
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    this.items.push(i);
    this.go(() => this.lexInsideAction());
  }

  lexComment(): void {
    this.pos += 2;
    const x = this.input.indexOf("*/", this.pos);
    if (x < 0) {
      this.errorf("unclosed comment");
      return;
    }
    this.pos = x + 2;
    const [delim, trimSpace] = this.atRightDelim();
    if (!delim) {
      this.errorf("comment ends before closing delimiter");
      return;
    }
    this.line += countNL(this.input.slice(this.start, this.pos));
    this.thisItem("comment");
    if (trimSpace) this.pos += 2;
    this.pos += this.rightDelim.length;
    if (trimSpace) {
      const s = this.input.slice(this.pos);
      this.pos += s.length - trimLeft(s).length;
    }
    this.ignore();
    this.go(() => this.lexText());
  }

  lexRightDelim(): void {
    const [, trimSpace] = this.atRightDelim();
    if (trimSpace) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += this.rightDelim.length;
    const i = this.thisItem("rightDelim");
    if (trimSpace) {
      const s = this.input.slice(this.pos);
      this.pos += s.length - trimLeft(s).length;
      this.ignore();
    }
    this.insideAction = false;
    this.items.push(i);
    this.go(() => this.lexText());
  }

  lexInsideAction(): void {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) {
        this.go(() => this.lexRightDelim());
        return;
      }
      this.errorf("unclosed left paren");
      return;
    }
    const r = this.next();
    const again = () => this.go(() => this.lexInsideAction());
    if (r === "") {
      this.errorf("unclosed action");
      return;
    }
    if (isSpace(r)) {
      this.backup(r);
      this.go(() => this.lexSpace());
      return;
    }
    switch (r) {
      case "=":
        this.emit("assign");
        again();
        return;
      case ":":
        if (this.next() !== "=") {
          this.errorf("expected :=");
          return;
        }
        this.emit("declare");
        again();
        return;
      case "|":
        this.emit("pipe");
        again();
        return;
      case '"':
        this.go(() => this.lexQuote());
        return;
      case "`":
        this.go(() => this.lexRawQuote());
        return;
      case "$":
        this.go(() => this.lexVariable());
        return;
      case "'":
        this.go(() => this.lexChar());
        return;
      case "(":
        this.parenDepth++;
        this.emit("leftParen");
        again();
        return;
      case ")":
        this.parenDepth--;
        if (this.parenDepth < 0) {
          this.errorf("unexpected right paren");
          return;
        }
        this.emit("rightParen");
        again();
        return;
    }
    if (r === ".") {
      if (this.pos < this.input.length) {
        const c = this.input[this.pos];
        if (c < "0" || c > "9") {
          this.go(() => this.lexField());
          return;
        }
      }
      this.backup(r);
      this.go(() => this.lexNumber());
      return;
    }
    if (r === "+" || r === "-" || (r >= "0" && r <= "9")) {
      this.backup(r);
      this.go(() => this.lexNumber());
      return;
    }
    if (isAlphaNumeric(r)) {
      this.backup(r);
      this.go(() => this.lexIdentifier());
      return;
    }
    const cp = r.codePointAt(0)!;
    if (cp <= 0x7f && cp >= 0x20 && cp < 0x7f) {
      this.emit("char");
      again();
      return;
    }
    this.errorf(`unrecognized character in action: ${fmtU(cp)}`);
  }

  lexSpace(): void {
    let numSpaces = 0;
    for (;;) {
      const r = this.peek();
      if (!isSpace(r)) break;
      this.next();
      numSpaces++;
    }
    if (
      hasRightTrimMarker(this.input, this.pos - 1) &&
      this.input.startsWith(this.rightDelim, this.pos + 1)
    ) {
      this.backup(this.input[this.pos - 1]);
      if (numSpaces === 1) {
        this.go(() => this.lexRightDelim());
        return;
      }
    }
    this.emit("space");
    this.go(() => this.lexInsideAction());
  }

  lexIdentifier(): void {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup(r);
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) {
        this.errorf(`bad character ${fmtU(r.codePointAt(0) ?? -1)}`);
        return;
      }
      const kw = Object.hasOwn(keywords, word) ? keywords[word] : undefined;
      if (kw !== undefined && kw !== "dot") {
        if ((kw === "break" && !this.breakOK) || (kw === "continue" && !this.continueOK))
          this.emit("identifier");
        else this.emit(kw);
      } else if (word[0] === ".") this.emit("field");
      else if (word === "true" || word === "false") this.emit("bool");
      else this.emit("identifier");
      this.go(() => this.lexInsideAction());
      return;
    }
  }

  lexField(): void {
    this.lexFieldOrVariable("field");
  }

  lexVariable(): void {
    if (this.atTerminator()) {
      this.emit("variable");
      this.go(() => this.lexInsideAction());
      return;
    }
    this.lexFieldOrVariable("variable");
  }

  lexFieldOrVariable(typ: ItemType): void {
    if (this.atTerminator()) {
      this.emit(typ === "variable" ? "variable" : "dot");
      this.go(() => this.lexInsideAction());
      return;
    }
    let r: string;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup(r);
        break;
      }
    }
    if (!this.atTerminator()) {
      this.errorf(`bad character ${fmtU(r.codePointAt(0) ?? -1)}`);
      return;
    }
    this.emit(typ);
    this.go(() => this.lexInsideAction());
  }

  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    switch (r) {
      case "":
      case ".":
      case ",":
      case "|":
      case ":":
      case ")":
      case "(":
        return true;
    }
    return this.input.startsWith(this.rightDelim, this.pos);
  }

  lexChar(): void {
    for (;;) {
      const c = this.next();
      if (c === "\\") {
        const r = this.next();
        if (r !== "" && r !== "\n") continue;
        this.errorf("unterminated character constant");
        return;
      }
      if (c === "" || c === "\n") {
        this.errorf("unterminated character constant");
        return;
      }
      if (c === "'") break;
    }
    this.emit("charConstant");
    this.go(() => this.lexInsideAction());
  }

  lexNumber(): void {
    if (!this.scanNumber()) {
      this.errorf(`bad number syntax: ${quote(this.input.slice(this.start, this.pos))}`);
      return;
    }
    const sign = this.peek();
    if (sign === "+" || sign === "-") {
      if (!this.scanNumber() || this.input[this.pos - 1] !== "i") {
        this.errorf(`bad number syntax: ${quote(this.input.slice(this.start, this.pos))}`);
        return;
      }
      this.emit("complex");
      this.go(() => this.lexInsideAction());
      return;
    }
    this.emit("number");
    this.go(() => this.lexInsideAction());
  }

  scanNumber(): boolean {
    this.accept("+-");
    let digits = "0123456789_";
    if (this.accept("0")) {
      if (this.accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (this.accept("oO")) digits = "01234567_";
      else if (this.accept("bB")) digits = "01_";
    }
    this.acceptRun(digits);
    if (this.accept(".")) this.acceptRun(digits);
    if (digits.length === 11 && this.accept("eE")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    if (digits.length === 23 && this.accept("pP")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    this.accept("i");
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  lexQuote(): void {
    for (;;) {
      const c = this.next();
      if (c === "\\") {
        const r = this.next();
        if (r !== "" && r !== "\n") continue;
        this.errorf("unterminated quoted string");
        return;
      }
      if (c === "" || c === "\n") {
        this.errorf("unterminated quoted string");
        return;
      }
      if (c === '"') break;
    }
    this.emit("string");
    this.go(() => this.lexInsideAction());
  }

  lexRawQuote(): void {
    for (;;) {
      const c = this.next();
      if (c === "") {
        this.errorf("unterminated raw quoted string");
        return;
      }
      if (c === "`") break;
    }
    this.emit("rawString");
    this.go(() => this.lexInsideAction());
  }
}

function fmtU(cp: number): string {
  if (cp < 0) return "U+FFFFFFFFFFFFFFFF";
  const hex = cp.toString(16).toUpperCase().padStart(4, "0");
  const ch = String.fromCodePoint(cp);
  const printable =
    cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0) && /[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(ch);
  return printable ? `U+${hex} '${ch}'` : `U+${hex}`;
}

function countNL(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

function trimRight(s: string): string {
  let e = s.length;
  while (e > 0 && spaceChars.includes(s[e - 1])) e--;
  return s.slice(0, e);
}

function trimLeft(s: string): string {
  let b = 0;
  while (b < s.length && spaceChars.includes(s[b])) b++;
  return s.slice(b);
}

// ---- nodes ---------------------------------------------------------------------------------

export interface Tree {
  name: string;
  parseName: string;
  root: ListNode | null;
  text: string;
}

interface Base {
  pos: number;
  tree: Tree;
}

export interface ListNode extends Base {
  type: "list";
  nodes: Node[];
}
export interface TextNode extends Base {
  type: "text";
  text: string;
}
export interface CommentNode extends Base {
  type: "comment";
  text: string;
}
export interface PipeNode extends Base {
  type: "pipe";
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface ActionNode extends Base {
  type: "action";
  line: number;
  pipe: PipeNode;
}
export interface CommandNode extends Base {
  type: "command";
  args: Node[];
}
export interface IdentifierNode extends Base {
  type: "identifier";
  ident: string;
}
export interface VariableNode extends Base {
  type: "variable";
  ident: string[];
}
export interface DotNode extends Base {
  type: "dot";
}
export interface NilNode extends Base {
  type: "nil";
}
export interface FieldNode extends Base {
  type: "field";
  ident: string[];
}
export interface ChainNode extends Base {
  type: "chain";
  node: Node;
  field: string[];
}
export interface BoolNode extends Base {
  type: "bool";
  value: boolean;
}
export interface NumberNode extends Base {
  type: "number";
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  complexRe: number;
  complexIm: number;
  int64: bigint;
  uint64: bigint;
  float64: number;
  text: string;
}
export interface StringNode extends Base {
  type: "string";
  quoted: string;
  text: string;
}
export interface EndNode extends Base {
  type: "end";
}
export interface ElseNode extends Base {
  type: "else";
  line: number;
}
export interface BranchNode extends Base {
  type: "if" | "range" | "with";
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface BreakNode extends Base {
  type: "break";
  line: number;
}
export interface ContinueNode extends Base {
  type: "continue";
  line: number;
}
export interface TemplateNode extends Base {
  type: "template";
  line: number;
  name: string;
  pipe: PipeNode | null;
}

export type Node =
  | ListNode
  | TextNode
  | CommentNode
  | PipeNode
  | ActionNode
  | CommandNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | FieldNode
  | ChainNode
  | BoolNode
  | NumberNode
  | StringNode
  | EndNode
  | ElseNode
  | BranchNode
  | BreakNode
  | ContinueNode
  | TemplateNode;

/** Node.String() as in Go (used in error contexts). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case "list":
      return n.nodes.map(nodeString).join("");
    case "text":
      return n.text;
    case "comment":
      return "{{" + n.text + "}}";
    case "pipe": {
      let s = "";
      if (n.decl.length > 0) {
        s += n.decl.map(nodeString).join(", ");
        s += n.isAssign ? " = " : " := ";
      }
      s += n.cmds.map(nodeString).join(" | ");
      return s;
    }
    case "action":
      return "{{" + nodeString(n.pipe) + "}}";
    case "command":
      return n.args.map((a) => (a.type === "pipe" ? "(" + nodeString(a) + ")" : nodeString(a))).join(" ");
    case "identifier":
      return n.ident;
    case "variable":
      return n.ident.join(".");
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "field":
      return n.ident.map((i) => "." + i).join("");
    case "chain":
      return (
        (n.node.type === "pipe" ? "(" + nodeString(n.node) + ")" : nodeString(n.node)) +
        n.field.map((f) => "." + f).join("")
      );
    case "bool":
      return n.value ? "true" : "false";
    case "number":
      return n.text;
    case "string":
      return n.quoted;
    case "end":
      return "{{end}}";
    case "else":
      return "{{else}}";
    case "if":
    case "range":
    case "with": {
      let s = "{{" + n.type + " " + nodeString(n.pipe) + "}}" + nodeString(n.list);
      if (n.elseList) s += "{{else}}" + nodeString(n.elseList);
      return s + "{{end}}";
    }
    case "break":
      return "{{break}}";
    case "continue":
      return "{{continue}}";
    case "template":
      if (n.pipe === null) return `{{template ${quote(n.name)}}}`;
      return `{{template ${quote(n.name)} ${nodeString(n.pipe)}}}`;
  }
}

// ---- parser --------------------------------------------------------------------------------

export class ParseError extends Error {}

/** strconv.Unquote for Go string literals. */
export function unquote(s: string): string {
  if (s.length < 2) throw new Error("invalid syntax");
  const q = s[0];
  if (q !== s[s.length - 1]) throw new Error("invalid syntax");
  const body = s.slice(1, -1);
  if (q === "`") {
    if (body.includes("`")) throw new Error("invalid syntax");
    return body.replace(/\r/g, "");
  }
  if (q !== '"' && q !== "'") throw new Error("invalid syntax");
  let out = "";
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) {
      out += new TextDecoder().decode(new Uint8Array(bytes));
      bytes = [];
    }
  };
  for (let i = 0; i < body.length; ) {
    const c = body[i];
    if (c === q && q === '"') throw new Error("invalid syntax");
    if (c === "\n") throw new Error("invalid syntax");
    if (c !== "\\") {
      flush();
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out += ch;
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
      "'": "'",
      '"': '"',
    };
    if (e in simple) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) throw new Error("invalid syntax");
      flush();
      out += simple[e];
      continue;
    }
    if (e === "x") {
      const h = body.slice(i, i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error("invalid syntax");
      bytes.push(Number.parseInt(h, 16));
      i += 2;
      continue;
    }
    if (e >= "0" && e <= "7") {
      const o = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(o)) throw new Error("invalid syntax");
      const v = Number.parseInt(o, 8);
      if (v > 255) throw new Error("invalid syntax");
      bytes.push(v);
      i += 2;
      continue;
    }
    if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      const h = body.slice(i, i + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error("invalid syntax");
      const v = Number.parseInt(h, 16);
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new Error("invalid syntax");
      flush();
      out += String.fromCodePoint(v);
      i += n;
      continue;
    }
    throw new Error("invalid syntax");
  }
  flush();
  if (q === "'" && [...out].length !== 1) throw new Error("invalid syntax");
  return out;
}

export interface FuncCheck {
  has(name: string): boolean;
}

class Parser {
  tree: Tree;
  items: Item[];
  idx = 0;
  token: Item[] = [];
  peekCount = 0;
  vars: string[] = ["$"];
  treeSet: Map<string, Tree>;
  funcs: FuncCheck;
  actionLine = 0;
  rangeDepth = 0;
  stackDepth = 0;
  // shared token buffer across define sub-parsers
  shared: { items: Item[]; idx: number; token: Item[]; peekCount: number };

  constructor(
    tree: Tree,
    shared: { items: Item[]; idx: number; token: Item[]; peekCount: number },
    funcs: FuncCheck,
    treeSet: Map<string, Tree>,
  ) {
    this.tree = tree;
    this.shared = shared;
    this.items = shared.items;
    this.funcs = funcs;
    this.treeSet = treeSet;
  }

  nextItem(): Item {
    const s = this.shared;
    const it = s.items[s.idx];
    if (s.idx < s.items.length - 1) s.idx++;
    return it;
  }

  next(): Item {
    const s = this.shared;
    if (s.peekCount > 0) s.peekCount--;
    else s.token[0] = this.nextItem();
    return s.token[s.peekCount];
  }
  backup(): void {
    this.shared.peekCount++;
  }
  backup2(t1: Item): void {
    this.shared.token[1] = t1;
    this.shared.peekCount = 2;
  }
  backup3(t2: Item, t1: Item): void {
    this.shared.token[1] = t1;
    this.shared.token[2] = t2;
    this.shared.peekCount = 3;
  }
  peek(): Item {
    const s = this.shared;
    if (s.peekCount > 0) return s.token[s.peekCount - 1];
    s.peekCount = 1;
    s.token[0] = this.nextItem();
    return s.token[0];
  }
  nextNonSpace(): Item {
    let t: Item;
    for (;;) {
      t = this.next();
      if (t.typ !== "space") break;
    }
    return t;
  }
  peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(msg: string): never {
    this.tree.root = null;
    throw new ParseError(`template: ${this.tree.parseName}:${this.shared.token[0].line}: ${msg}`);
  }

  expect(expected: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }
  expectOneOf(e1: ItemType, e2: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== e1 && t.typ !== e2) this.unexpected(t, context);
    return t;
  }
  unexpected(token: Item, context: string): never {
    if (token.typ === "error") {
      let extra = "";
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.tree.parseName}:${this.actionLine}`;
        if (token.val.endsWith(" action")) extra = extra.slice(" in action".length);
      }
      this.errorf(`${itemString(token)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  add(): void {
    const t = this.tree;
    const existing = this.treeSet.get(t.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.treeSet.set(t.name, t);
      return;
    }
    if (!isEmptyTree(t.root)) this.errorf(`template: multiple definition of template ${quote(t.name)}`);
  }

  newList(pos: number): ListNode {
    return { type: "list", pos, tree: this.tree, nodes: [] };
  }

  parse(): void {
    this.tree.root = this.newList(this.peek().pos);
    while (this.peek().typ !== "EOF") {
      if (this.peek().typ === "leftDelim") {
        const delim = this.next();
        if (this.nextNonSpace().typ === "define") {
          const newT: Tree = {
            name: "definition",
            parseName: this.tree.parseName,
            root: null,
            text: this.tree.text,
          };
          const p = new Parser(newT, this.shared, this.funcs, this.treeSet);
          p.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") this.errorf(`unexpected ${nodeString(n)}`);
      this.tree.root!.nodes.push(n);
    }
  }

  parseDefinition(): void {
    const context = "define clause";
    const name = this.expectOneOf("string", "rawString", context);
    try {
      this.tree.name = unquote(name.val);
    } catch (e) {
      this.errorf((e as Error).message);
    }
    this.expect("rightDelim", context);
    const [list, end] = this.itemList();
    this.tree.root = list;
    if (end.type !== "end") this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  itemList(): [ListNode, Node] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== "EOF") {
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") return [list, n];
      list.nodes.push(n);
    }
    this.errorf("unexpected EOF");
  }

  textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case "text":
        return { type: "text", pos: token.pos, tree: this.tree, text: token.val };
      case "leftDelim": {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case "comment":
        return { type: "comment", pos: token.pos, tree: this.tree, text: token.val };
      default:
        this.unexpected(token, "input");
    }
  }

  action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case "block":
        return this.blockControl();
      case "break":
        return this.breakControl(token.pos, token.line);
      case "continue":
        return this.continueControl(token.pos, token.line);
      case "else":
        return this.elseControl();
      case "end":
        return this.endControl();
      case "if":
        return this.branchControl("if");
      case "range":
        return this.branchControl("range");
      case "template":
        return this.templateControl();
      case "with":
        return this.branchControl("with");
    }
    this.backup();
    const t = this.peek();
    return {
      type: "action",
      pos: t.pos,
      line: t.line,
      tree: this.tree,
      pipe: this.pipeline("command", "rightDelim"),
    };
  }

  breakControl(pos: number, line: number): Node {
    const token = this.nextNonSpace();
    if (token.typ !== "rightDelim") this.unexpected(token, "{{break}}");
    if (this.rangeDepth === 0) this.errorf("{{break}} outside {{range}}");
    return { type: "break", pos, line, tree: this.tree };
  }

  continueControl(pos: number, line: number): Node {
    const token = this.nextNonSpace();
    if (token.typ !== "rightDelim") this.unexpected(token, "{{continue}}");
    if (this.rangeDepth === 0) this.errorf("{{continue}} outside {{range}}");
    return { type: "continue", pos, line, tree: this.tree };
  }

  pipeline(context: string, end: ItemType): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = {
      type: "pipe",
      pos: token.pos,
      line: token.line,
      tree: this.tree,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ === "variable") {
        this.next();
        const tokenAfterVariable = this.peek();
        const next = this.peekNonSpace();
        if (next.typ === "assign" || next.typ === "declare") {
          pipe.isAssign = next.typ === "assign";
          this.nextNonSpace();
          pipe.decl.push({ type: "variable", pos: v.pos, tree: this.tree, ident: v.val.split(".") });
          this.vars.push(v.val);
        } else if (next.typ === "char" && next.val === ",") {
          this.nextNonSpace();
          pipe.decl.push({ type: "variable", pos: v.pos, tree: this.tree, ident: v.val.split(".") });
          this.vars.push(v.val);
          if (context === "range" && pipe.decl.length < 2) {
            const pt = this.peekNonSpace().typ;
            if (pt === "variable" || pt === "rightDelim" || pt === "rightParen") continue;
            this.errorf("range can only initialize variables");
          }
          this.errorf(`too many declarations in ${context}`);
        } else if (tokenAfterVariable.typ === "space") {
          this.backup3(v, tokenAfterVariable);
        } else {
          this.backup2(v);
        }
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      if (token.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (token.typ) {
        case "bool":
        case "charConstant":
        case "complex":
        case "dot":
        case "field":
        case "identifier":
        case "number":
        case "nil":
        case "rawString":
        case "string":
        case "variable":
        case "leftParen":
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0].type;
      if (t === "bool" || t === "dot" || t === "nil" || t === "number" || t === "string") {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  branchControl(context: "if" | "range" | "with"): BranchNode {
    const nvars = this.vars.length;
    try {
      const pipe = this.pipeline(context, "rightDelim");
      if (context === "range") this.rangeDepth++;
      let [list, next] = this.itemList();
      if (context === "range") this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === "else") {
        if (context === "if" && this.peek().typ === "if") {
          this.next();
          elseList = this.newList(next.pos);
          elseList.nodes.push(this.branchControl("if"));
        } else if (context === "with" && this.peek().typ === "with") {
          this.next();
          elseList = this.newList(next.pos);
          elseList.nodes.push(this.branchControl("with"));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== "end") this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      list = list as ListNode;
      return { type: context, pos: pipe.pos, line: pipe.line, tree: this.tree, pipe, list, elseList };
    } finally {
      this.vars.length = nvars;
    }
  }

  endControl(): Node {
    return { type: "end", pos: this.expect("rightDelim", "end").pos, tree: this.tree };
  }

  elseControl(): Node {
    const peek = this.peekNonSpace();
    if (peek.typ === "if" || peek.typ === "with") {
      return { type: "else", pos: peek.pos, line: peek.line, tree: this.tree };
    }
    const token = this.expect("rightDelim", "else");
    return { type: "else", pos: token.pos, line: token.line, tree: this.tree };
  }

  blockControl(): Node {
    const context = "block clause";
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, "rightDelim");
    const block: Tree = { name, parseName: this.tree.parseName, root: null, text: this.tree.text };
    const p = new Parser(block, this.shared, this.funcs, this.treeSet);
    const [list, end] = p.itemList();
    block.root = list;
    if (end.type !== "end") this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    p.add();
    return { type: "template", pos: token.pos, line: token.line, tree: this.tree, name, pipe };
  }

  templateControl(): Node {
    const context = "template clause";
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== "rightDelim") {
      this.backup();
      pipe = this.pipeline(context, "rightDelim");
    }
    return { type: "template", pos: token.pos, line: token.line, tree: this.tree, name, pipe };
  }

  parseTemplateName(token: Item, context: string): string {
    if (token.typ === "string" || token.typ === "rawString") {
      try {
        return unquote(token.val);
      } catch (e) {
        this.errorf((e as Error).message);
      }
    }
    this.unexpected(token, context);
  }

  command(): CommandNode {
    const cmd: CommandNode = { type: "command", pos: this.peekNonSpace().pos, tree: this.tree, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === "space") continue;
      if (token.typ === "rightDelim" || token.typ === "rightParen") this.backup();
      else if (token.typ !== "pipe") this.unexpected(token, "operand");
      break;
    }
    if (cmd.args.length === 0) this.errorf("empty command");
    return cmd;
  }

  operand(): Node | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === "field") {
      const chain: ChainNode = { type: "chain", pos: this.peek().pos, tree: this.tree, node, field: [] };
      while (this.peek().typ === "field") {
        const f = this.next().val;
        chain.field.push(f.slice(1));
      }
      switch (node.type) {
        case "field":
          node = {
            type: "field",
            pos: chain.pos,
            tree: this.tree,
            ident: nodeString(chain).split(".").slice(1),
          };
          break;
        case "variable":
          node = { type: "variable", pos: chain.pos, tree: this.tree, ident: nodeString(chain).split(".") };
          break;
        case "bool":
        case "string":
        case "number":
        case "nil":
        case "dot":
          this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
          break;
        default:
          node = chain;
      }
    }
    return node;
  }

  term(): Node | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case "identifier":
        if (!this.funcs.has(token.val)) this.errorf(`function ${quote(token.val)} not defined`);
        return { type: "identifier", pos: token.pos, tree: this.tree, ident: token.val };
      case "dot":
        return { type: "dot", pos: token.pos, tree: this.tree };
      case "nil":
        return { type: "nil", pos: token.pos, tree: this.tree };
      case "variable":
        return this.useVar(token.pos, token.val);
      case "field":
        return { type: "field", pos: token.pos, tree: this.tree, ident: token.val.split(".").slice(1) };
      case "bool":
        return { type: "bool", pos: token.pos, tree: this.tree, value: token.val === "true" };
      case "charConstant":
      case "complex":
      case "number":
        return this.newNumber(token.pos, token.val, token.typ);
      case "leftParen": {
        if (this.stackDepth >= 10000) this.errorf("max expression depth exceeded");
        this.stackDepth++;
        try {
          return this.pipeline("parenthesized pipeline", "rightParen");
        } finally {
          this.stackDepth--;
        }
      }
      case "string":
      case "rawString": {
        let s: string;
        try {
          s = unquote(token.val);
        } catch (e) {
          this.errorf((e as Error).message);
        }
        return { type: "string", pos: token.pos, tree: this.tree, quoted: token.val, text: s };
      }
    }
    this.backup();
    return null;
  }

  useVar(pos: number, name: string): VariableNode {
    const v: VariableNode = { type: "variable", pos, tree: this.tree, ident: name.split(".") };
    if (this.vars.includes(v.ident[0])) return v;
    this.errorf(`undefined variable ${quote(v.ident[0])}`);
  }

  newNumber(pos: number, text: string, typ: ItemType): NumberNode {
    const n: NumberNode = {
      type: "number",
      pos,
      tree: this.tree,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      complexRe: 0,
      complexIm: 0,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      text,
    };
    if (typ === "charConstant") {
      let r: string;
      try {
        r = unquote(text);
      } catch {
        this.errorf(`malformed character constant: ${text}`);
      }
      const cp = BigInt(r.codePointAt(0)!);
      n.int64 = cp;
      n.uint64 = cp;
      n.float64 = Number(cp);
      n.isInt = n.isUint = n.isFloat = true;
      return n;
    }
    const simplify = () => {
      if (n.complexIm === 0) {
        n.isFloat = true;
        n.float64 = n.complexRe;
        if (Number.isInteger(n.float64) && Math.abs(n.float64) < 2 ** 63) {
          n.isInt = true;
          n.int64 = BigInt(n.float64);
        }
        if (Number.isInteger(n.float64) && n.float64 >= 0 && n.float64 < 2 ** 64) {
          n.isUint = true;
          n.uint64 = BigInt(n.float64);
        }
      }
    };
    if (typ === "complex") {
      // fmt.Sscan of "a+bi": split at the sign that starts the imaginary part
      const m = /^([+-]?[^+-]+(?:[eEpP][+-][^+-]*)?)([+-].*)i$/.exec(text);
      try {
        if (!m) throw new Error("bad");
        n.complexRe = goParseFloat(m[1]);
        n.complexIm = goParseFloat(m[2]);
      } catch {
        this.errorf(`strconv.ParseFloat: parsing ${quote(text)}: invalid syntax`);
      }
      n.isComplex = true;
      simplify();
      return n;
    }
    if (text.endsWith("i")) {
      try {
        n.complexIm = goParseFloat(text.slice(0, -1));
        n.isComplex = true;
        simplify();
        return n;
      } catch {
        // not an imaginary literal
      }
    }
    try {
      const u = goParseUint(text);
      n.isUint = true;
      n.uint64 = u;
    } catch {}
    try {
      const i = goParseInt(text, 0, 64);
      n.isInt = true;
      n.int64 = i;
      if (i === 0n) {
        n.isUint = true;
      }
    } catch {}
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      let f: number | undefined;
      try {
        f = goParseFloat(text);
      } catch (e) {
        if (!(e instanceof NumError)) throw e;
        if (e.reason === "value out of range") f = undefined;
      }
      if (f !== undefined) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${quote(text)}`);
        n.isFloat = true;
        n.float64 = f;
        if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
          n.isInt = true;
          n.int64 = BigInt(f);
        }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
          n.isUint = true;
          n.uint64 = BigInt(f);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${quote(text)}`);
    return n;
  }
}

function goParseUint(text: string): bigint {
  if (text.startsWith("+") || text.startsWith("-")) throw new Error("sign");
  const v = goParseInt(text.startsWith("0") ? text : text, 0, 65);
  if (v < 0n || v >= 1n << 64n) throw new Error("range");
  return v;
}

export function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  switch (n.type) {
    case "action":
    case "if":
    case "range":
    case "template":
    case "with":
      return false;
    case "comment":
      return true;
    case "list":
      return n.nodes.every(isEmptyTree);
    case "text":
      return n.text.trim().length === 0 || /^[ \t\n\v\f\r\u0085\u00a0]*$/.test(n.text);
    default:
      return false;
  }
}

/**
 * Parse one template text. Returns the trees it defines (the main one under `name`,
 * plus every {{define}}/{{block}}), like parse.Parse.
 */
export function parse(name: string, text: string, funcs: FuncCheck): Map<string, Tree> {
  const lexer = new Lexer(text, !funcs.has("break"), !funcs.has("continue"));
  const items = lexer.run();
  const treeSet = new Map<string, Tree>();
  const tree: Tree = { name, parseName: name, root: null, text };
  const shared = { items, idx: 0, token: [] as Item[], peekCount: 0 };
  const p = new Parser(tree, shared, funcs, treeSet);
  p.parse();
  p.add();
  return treeSet;
}
