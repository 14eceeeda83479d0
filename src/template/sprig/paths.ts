// Go's path and net/url pieces used by sprig (base, dir, clean, ext, isAbs, urlParse, urlJoin).
import { FuncError } from "../funcdef.ts";
import { quote } from "../strconv.ts";
import { utf8 } from "../values.ts";

/** path.Clean */
export function clean(p: string): string {
  if (p === "") return ".";
  const rooted = p[0] === "/";
  const parts = p.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  let s = out.join("/");
  if (rooted) s = "/" + s;
  return s === "" ? "." : s;
}

export function base(p: string): string {
  if (p === "") return ".";
  while (p.length > 0 && p[p.length - 1] === "/") p = p.slice(0, -1);
  const i = p.lastIndexOf("/");
  if (i >= 0) p = p.slice(i + 1);
  return p === "" ? "/" : p;
}

export function dir(p: string): string {
  const i = p.lastIndexOf("/");
  return clean(p.slice(0, i + 1));
}

export function ext(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) {
    if (p[i] === ".") return p.slice(i);
  }
  return "";
}

export function isAbs(p: string): boolean {
  return p.startsWith("/");
}

// ---- net/url ----

type Mode = "path" | "pathSegment" | "host" | "zone" | "userPassword" | "queryComponent" | "fragment";

function shouldEscape(c: string, mode: Mode): boolean {
  if (/[A-Za-z0-9]/.test(c)) return false;
  if (mode === "host" || mode === "zone") {
    if ("!$&'()*+,;=:[]<>\"".includes(c)) return false;
  }
  if ("-_.~".includes(c)) return false;
  if ("$&+,/:;=?@".includes(c)) {
    switch (mode) {
      case "path":
        return c === "?";
      case "pathSegment":
        return c === "/" || c === ";" || c === "," || c === "?";
      case "userPassword":
        return c === "@" || c === "/" || c === "?" || c === ":";
      case "queryComponent":
        return true;
      case "fragment":
        return false;
    }
  }
  if (mode === "fragment" && "!()*".includes(c)) return false;
  return true;
}

function urlEscape(s: string, mode: Mode): string {
  let out = "";
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && !shouldEscape(c, mode)) out += c;
    else if (c === " " && mode === "queryComponent") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

class UrlError extends Error {}

function urlUnescape(s: string, mode: Mode): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        let e = s.slice(i);
        if (e.length > 3) e = e.slice(0, 3);
        throw new UrlError(`invalid URL escape ${quote(e)}`);
      }
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else if (c === "+" && mode === "queryComponent") bytes.push(0x20);
    else {
      if ((mode === "host" || mode === "zone") && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${quote(c)} in host name`);
      }
      for (const b of utf8(c)) bytes.push(b);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

export interface GoURL {
  scheme: string;
  opaque: string;
  user: { username: string; password: string | null } | null;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
  fragment: string;
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ["", raw];
      continue;
    }
    if (c === ":") {
      if (i === 0) throw new UrlError("missing protocol scheme");
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ["", raw];
  }
  return ["", raw];
}

/** url.Parse */
export function parseURL(rawURL: string): GoURL {
  const wrap = (e: unknown): never => {
    if (e instanceof UrlError) throw new FuncError(`parse ${quote(rawURL)}: ${e.message}`);
    throw e;
  };
  try {
    const hash = rawURL.indexOf("#");
    let u = rawURL;
    let frag = "";
    if (hash >= 0) {
      u = rawURL.slice(0, hash);
      frag = rawURL.slice(hash + 1);
    }
    const url = parseInner(u);
    url.fragment = urlUnescape(frag, "fragment");
    return url;
  } catch (e) {
    return wrap(e);
  }
}

function parseInner(rawURL: string): GoURL {
  const url: GoURL = {
    scheme: "",
    opaque: "",
    user: null,
    host: "",
    path: "",
    rawPath: "",
    rawQuery: "",
    fragment: "",
  };
  if (/[\x00-\x1f\x7f]/.test(rawURL)) throw new UrlError("net/url: invalid control character in URL");
  if (rawURL === "") return url;
  if (rawURL === "*") {
    url.path = "*";
    return url;
  }
  let rest: string;
  [url.scheme, rest] = getScheme(rawURL);
  url.scheme = url.scheme.toLowerCase();
  if (rest.endsWith("?") && (rest.match(/\?/g) ?? []).length === 1) {
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith("/")) {
    if (url.scheme !== "") {
      url.opaque = rest;
      return url;
    }
    const colon = rest.indexOf(":");
    const slash = rest.indexOf("/");
    if (colon >= 0 && (slash < 0 || colon < slash)) {
      throw new UrlError("first path segment in URL cannot contain colon");
    }
  }
  if ((url.scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    let r = "";
    const i = authority.indexOf("/");
    if (i >= 0) {
      r = authority.slice(i);
      authority = authority.slice(0, i);
    }
    const at = authority.lastIndexOf("@");
    let host = authority;
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      host = authority.slice(at + 1);
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo))
        throw new UrlError("net/url: invalid userinfo");
      const c = userinfo.indexOf(":");
      if (c < 0) url.user = { username: urlUnescape(userinfo, "userPassword"), password: null };
      else
        url.user = {
          username: urlUnescape(userinfo.slice(0, c), "userPassword"),
          password: urlUnescape(userinfo.slice(c + 1), "userPassword"),
        };
    }
    url.host = parseHost(host);
    rest = r;
  }
  url.path = urlUnescape(rest, "path");
  return url;
}

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const i = host.lastIndexOf("]");
    if (i < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (colonPort !== "" && !/^:[0-9]*$/.test(colonPort)) {
      throw new UrlError(`invalid port ${quote(colonPort)} after host`);
    }
    return urlUnescape(host, "host");
  }
  const i = host.lastIndexOf(":");
  if (i >= 0) {
    const colonPort = host.slice(i);
    if (!/^:[0-9]*$/.test(colonPort)) throw new UrlError(`invalid port ${quote(colonPort)} after host`);
  }
  return urlUnescape(host, "host");
}

export function hostname(host: string): string {
  let h = host;
  if (h.startsWith("[")) {
    const i = h.indexOf("]");
    return i >= 0 ? h.slice(1, i) : h.slice(1);
  }
  const i = h.lastIndexOf(":");
  if (i >= 0 && /^:[0-9]*$/.test(h.slice(i))) h = h.slice(0, i);
  return h;
}

export function userinfoString(u: { username: string; password: string | null }): string {
  let s = urlEscape(u.username, "userPassword");
  if (u.password !== null) s += ":" + urlEscape(u.password, "userPassword");
  return s;
}

function validEncoded(s: string, mode: Mode): boolean {
  for (const c of s) {
    if ("!$&'()*+,;=:@[]".includes(c)) continue;
    if (c === "%") continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

/** url.URL.String() */
export function urlString(u: GoURL): string {
  let buf = "";
  if (u.scheme !== "") buf += u.scheme + ":";
  if (u.opaque !== "") buf += u.opaque;
  else {
    if (u.scheme !== "" || u.host !== "" || u.user !== null) {
      if (u.host !== "" || u.path !== "" || u.user !== null) buf += "//";
      if (u.user !== null) buf += userinfoString(u.user) + "@";
      if (u.host !== "") buf += urlEscape(u.host, "host");
    }
    let path = u.rawPath !== "" && validEncoded(u.rawPath, "path") ? u.rawPath : urlEscape(u.path, "path");
    if (u.path === "*") path = "*";
    if (path !== "" && path[0] !== "/" && u.host !== "") buf += "/";
    if (buf.length === 0) {
      const seg = path.split("/")[0];
      if (seg.includes(":")) buf += "./";
    }
    buf += path;
  }
  if (u.rawQuery !== "") buf += "?" + u.rawQuery;
  if (u.fragment !== "") buf += "#" + urlEscape(u.fragment, "fragment");
  return buf;
}
