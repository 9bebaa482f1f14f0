// Command coredns runs CoreDNS with only the plugins the devcluster's cluster DNS needs, in
// the order CoreDNS's plugin.cfg gives them (a plugin's place in Directives is its place in
// the request chain): bind (listen on the devcluster's host address only), ready (the
// readiness endpoint `up` waits on), errors, cache, kubernetes (Service and Pod names from the
// API server) and forward (every other name goes to the host's resolvers, as in a cluster).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"bind", "ready", "errors", "cache", "kubernetes", "forward"}
}

func main() { coremain.Run() }
