// What the image's bundle gets for `import ... from "undici"` (bundleOperator): the two values the
// operator uses, Agent and request, built from undici's own modules. undici's index also evaluates
// fetch, WebSocket, EventSource, the mock and snapshot agents, the caches and the interceptors: about
// 380 KiB more to parse and 3.6 MiB more resident (docs/benchmarks.md, "Where the memory goes").
// Types come from undici itself: the TypeScript sources import "undici" as before.
import api from "undici/lib/api/index.js";
import util from "undici/lib/core/util.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import global from "undici/lib/global.js";

// As undici's index does: request(), stream() and the rest become methods of every dispatcher.
Object.assign(Dispatcher.prototype, api);

export { Agent };

/** undici's request(url, options): on options.dispatcher, else on undici's global Agent. */
export function request(url, opts = {}) {
  const { dispatcher = global.getGlobalDispatcher(), ...rest } = opts;
  const u = util.parseURL(url);
  return api.request.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
    method: opts.method || (opts.body ? "PUT" : "GET"),
  });
}
