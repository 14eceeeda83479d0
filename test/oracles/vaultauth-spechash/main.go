// Test oracle (never shipped): status.specHash of a VaultAuth as VSO v1.5.0
// computes it. VSO (BUSL-1.1) is only imported and run here, never copied.
// Each stdin line is a VaultAuth spec as JSON, as the API server stores it
// (CRD defaults already applied). It is decoded into VSO's typed
// v1beta1.VaultAuthSpec and hashed the way VSO's VaultAuth reconciler does:
// blake2b-256 of encoding/json's Marshal of the spec, in hex. Printed per line:
// "<hex> <the marshalled JSON>", so a test can show where an encoding differs.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/vault-secrets-operator/api/v1beta1"
	"golang.org/x/crypto/blake2b"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var spec v1beta1.VaultAuthSpec
		if err := json.Unmarshal(sc.Bytes(), &spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b, err := json.Marshal(spec)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%x %s\n", blake2b.Sum256(b), b)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
