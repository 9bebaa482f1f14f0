// Command ecsgo calls the ECS API through the AWS SDK for Go v2, the client
// terraform-provider-aws is built on, so tests drive our ECS API with the same request
// serialization, SigV4 signing and response deserialization as Terraform. It reads one JSON
// request per line on standard input and writes one JSON line per request:
//
//	{"call": "CreateCluster", "input": {"clusterName": "tf"}}
//	{"wait": "ServicesStable", "input": {"cluster": "tf", "services": ["web"]}, "seconds": 120}
//
// answered by {"output": {...}} (the SDK's typed output, members named as in the ECS API) or
// {"error": {"code": ..., "message": ...}}. An input member the SDK does not have is an error,
// not silently dropped. Endpoint, region and keys come from the environment as for any SDK
// program (AWS_ENDPOINT_URL_ECS, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

type request struct {
	Call    string          `json:"call"`
	Wait    string          `json:"wait"`
	Input   json.RawMessage `json:"input"`
	Seconds float64         `json:"seconds"`
}

type failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// decode reads data into a new value of type t (a pointer type), refusing unknown members.
func decode(data json.RawMessage, t reflect.Type) (reflect.Value, error) {
	value := reflect.New(t.Elem())
	if len(data) == 0 {
		return value, nil
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	return value, decoder.Decode(value.Interface())
}

// call runs the client's method named op, whatever the operation: every ECS operation of the
// SDK has the shape func(ctx, *OpInput, ...func(*ecs.Options)) (*OpOutput, error).
func call(ctx context.Context, client *ecs.Client, op string, data json.RawMessage) (any, error) {
	method := reflect.ValueOf(client).MethodByName(op)
	if !method.IsValid() {
		return nil, fmt.Errorf("the SDK has no operation %q", op)
	}
	input, err := decode(data, method.Type().In(1))
	if err != nil {
		return nil, fmt.Errorf("%s input: %w", op, err)
	}
	results := method.Call([]reflect.Value{reflect.ValueOf(ctx), input})
	if err, _ := results[1].Interface().(error); err != nil {
		return nil, err
	}
	return results[0].Interface(), nil
}

// waiter runs one of the SDK's ECS waiters, polling every second or two (the SDK's
// defaults, 6 to 120 seconds, are for real ECS).
func waiter(ctx context.Context, client *ecs.Client, name string, data json.RawMessage, limit time.Duration) error {
	switch name {
	case "ServicesStable":
		input, err := decode(data, reflect.TypeFor[*ecs.DescribeServicesInput]())
		if err != nil {
			return err
		}
		w := ecs.NewServicesStableWaiter(client, func(o *ecs.ServicesStableWaiterOptions) {
			o.MinDelay, o.MaxDelay = time.Second, 2*time.Second
		})
		return w.Wait(ctx, input.Interface().(*ecs.DescribeServicesInput), limit)
	case "TasksStopped":
		input, err := decode(data, reflect.TypeFor[*ecs.DescribeTasksInput]())
		if err != nil {
			return err
		}
		w := ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) {
			o.MinDelay, o.MaxDelay = time.Second, 2*time.Second
		})
		return w.Wait(ctx, input.Interface().(*ecs.DescribeTasksInput), limit)
	}
	return fmt.Errorf("no waiter %q", name)
}

// plain is v as JSON values, struct members named as the ECS API names them (the SDK's Go
// names with a lower-case first letter); the SDK's result metadata and unexported fields
// are left out, map keys are kept as they are.
func plain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return float64(t.UnixMilli()) / 1000
		}
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			field := v.Type().Field(i)
			if !field.IsExported() || field.Name == "ResultMetadata" {
				continue
			}
			member := plain(v.Field(i))
			if member == nil {
				continue
			}
			name := []rune(field.Name)
			name[0] = unicode.ToLower(name[0])
			out[string(name)] = member
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		for _, key := range v.MapKeys() {
			out[fmt.Sprint(key.Interface())] = plain(v.MapIndex(key))
		}
		return out
	}
	return v.Interface()
}

func answer(ctx context.Context, client *ecs.Client, line []byte) map[string]any {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]any{"error": failure{"BadRequestLine", err.Error()}}
	}
	var output any
	var err error
	if req.Wait != "" {
		err = waiter(ctx, client, req.Wait, req.Input, time.Duration(req.Seconds*float64(time.Second)))
		output = map[string]any{}
	} else {
		output, err = call(ctx, client, req.Call, req.Input)
	}
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			return map[string]any{"error": failure{api.ErrorCode(), api.ErrorMessage()}}
		}
		return map[string]any{"error": failure{"ClientSideError", err.Error()}}
	}
	return map[string]any{"output": plain(reflect.ValueOf(output))}
}

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecsgo: configuration:", err)
		os.Exit(2)
	}
	client := ecs.NewFromConfig(cfg)
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	for lines.Scan() {
		if err := out.Encode(answer(ctx, client, lines.Bytes())); err != nil {
			fmt.Fprintln(os.Stderr, "ecsgo:", err)
			os.Exit(1)
		}
	}
}
