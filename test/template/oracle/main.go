// Command oracle renders Go text/template + sprig cases for the differential tests of the
// TypeScript engine. It reads a JSON array of cases on stdin and writes a JSON array of
// results on stdout. Test tooling only: never shipped.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"

	"vsots.local/templateoracle/helpers"
)

type tmplSpec struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type testCase struct {
	Name        string            `json:"name"`
	Template    *string           `json:"template"`
	Templates   []tmplSpec        `json:"templates"`
	Execute     string            `json:"execute"`
	Data        json.RawMessage   `json:"data"`
	Metadata    json.RawMessage   `json:"metadata"`
	Annotations map[string]string `json:"annotations"`
	Labels      map[string]string `json:"labels"`
	Numbers     string            `json:"numbers"`
	Funcs       []string          `json:"funcs"`
}

type result struct {
	Name   string  `json:"name"`
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

// decodeMap decodes a JSON object the way the Vault API client does (UseNumber, so numbers
// become json.Number) unless numbers == "float64" (plain encoding/json decoding).
func decodeMap(raw json.RawMessage, numbers string) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if numbers != "float64" {
		dec.UseNumber()
	}
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func toAnyMap(m map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func funcMap(restrict []string) template.FuncMap {
	all := sprig.HermeticTxtFuncMap()
	fm := template.FuncMap{}
	allowed := allowedFuncs
	if len(restrict) > 0 {
		allowed = restrict
	}
	for _, name := range allowed {
		if f, ok := all[name]; ok && isAllowed(name) {
			fm[name] = f
		}
	}
	return fm
}

func isAllowed(name string) bool {
	for _, n := range allowedFuncs {
		if n == name {
			return true
		}
	}
	return false
}

func run(c testCase) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	specs := c.Templates
	if c.Template != nil {
		specs = append(specs, tmplSpec{Name: "tmpl", Text: *c.Template})
	}
	if len(specs) == 0 {
		return "", fmt.Errorf("case has no template")
	}
	secrets, err := decodeMap(c.Data, c.Numbers)
	if err != nil {
		return "", fmt.Errorf("bad case data: %w", err)
	}
	metadata, err := decodeMap(c.Metadata, c.Numbers)
	if err != nil {
		return "", fmt.Errorf("bad case metadata: %w", err)
	}
	root := template.New("").Funcs(funcMap(c.Funcs))
	for _, s := range specs {
		if _, err := root.New(s.Name).Parse(s.Text); err != nil {
			return "", err
		}
	}
	name := c.Execute
	if name == "" {
		name = specs[len(specs)-1].Name
	}
	input := &helpers.SecretInput{
		Secrets:     secrets,
		Metadata:    metadata,
		Annotations: toAnyMap(c.Annotations),
		Labels:      toAnyMap(c.Labels),
	}
	var buf bytes.Buffer
	if err := root.ExecuteTemplate(&buf, name, input); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cases []testCase
	if err := json.Unmarshal(in, &cases); err != nil {
		fmt.Fprintln(os.Stderr, "decode cases:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		out, err := run(c)
		r := result{Name: c.Name}
		if err != nil {
			msg := err.Error()
			r.Error = &msg
		} else {
			r.Output = &out
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
