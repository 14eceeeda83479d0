// CoreDNS for vso-ts's local node, with only the plugins its Corefile uses
// (src/dev/node/configs.ts): bind, errors, ready, cache and kubernetes. The
// stock build compiles every plugin and its cloud SDKs, which more than
// doubles a cold `make deps`. CoreDNS documents compiling it as a library
// this way. scripts/deps.sh builds it in a wrapper module at COREDNS_VERSION.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	// The order plugins run in, as plugin.cfg gives it for the stock build.
	dnsserver.Directives = []string{"bind", "ready", "errors", "cache", "kubernetes"}
}

func main() { coremain.Run() }
