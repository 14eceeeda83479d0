// Test oracle (never shipped): computes status.secretMAC the way VSO does,
// base64(HMAC-SHA256(key, json.Marshal(map[string][]byte))), for vectors read
// as JSON lines {"key": base64, "data": {k: base64}} on stdin.
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

type vector struct {
	Key  []byte            `json:"key"`
	Data map[string][]byte `json:"data"`
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		msg, err := json.Marshal(v.Data)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		m := hmac.New(sha256.New, v.Key)
		m.Write(msg)
		fmt.Println(base64.StdEncoding.EncodeToString(m.Sum(nil)) + " " + base64.StdEncoding.EncodeToString(msg))
	}
}
