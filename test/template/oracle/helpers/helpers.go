// Package helpers holds the template input type. It is named like VSO's package so that
// type names in template error messages ("*helpers.SecretInput") read the same.
package helpers

// SecretInput is the object that templates see as ".".
type SecretInput struct {
	Secrets     map[string]any `json:"secrets"`
	Metadata    map[string]any `json:"metadata"`
	Annotations map[string]any `json:"annotations"`
	Labels      map[string]any `json:"labels"`
}
