// Command kstatus prints what sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute (the library
// Flux's health checks use) says of Kubernetes objects: it reads JSON from standard input, one
// object or a List (`kubectl get -o json`), and writes one JSON line per object with its kind,
// namespace, name, status (InProgress, Current, Failed, Terminating, Unknown) and message.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func objects(data []byte) ([]unstructured.Unstructured, error) {
	var top unstructured.Unstructured
	if err := top.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	if !top.IsList() {
		return []unstructured.Unstructured{top}, nil
	}
	list, err := top.ToList()
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading standard input:", err)
		os.Exit(2)
	}
	items, err := objects(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: not a Kubernetes object or List:", err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for i := range items {
		result, err := status.Compute(&items[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", items[i].GetKind(), items[i].GetName(), err)
			os.Exit(1)
		}
		line := verdict{items[i].GetKind(), items[i].GetNamespace(), items[i].GetName(), string(result.Status), result.Message}
		if err := out.Encode(line); err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", err)
			os.Exit(1)
		}
	}
}
