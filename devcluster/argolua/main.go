// Command argolua runs an Argo CD resource customization script (a health check or a resource
// action) in gopher-lua the way Argo CD's controller does: no standard libraries but base,
// table, package and a safe os (time, date), the object as the global `obj`, one second at most.
//
//	argolua health SCRIPT < objects.json   one JSON line per object: kind, name, status, message
//	argolua action SCRIPT < object.json    the object the action returns, as JSON
//
// Objects are read as `kubectl get -o json` prints them: one object or a List.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// healthCodes are the statuses Argo CD accepts from a health script.
var healthCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "argolua: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "health" && os.Args[1] != "action") {
		fmt.Fprintln(os.Stderr, "usage: argolua health|action SCRIPT < objects.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading standard input: %v", err)
	}
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		fail("not a JSON object: %v", err)
	}
	items := []map[string]any{top}
	if list, ok := top["items"].([]any); ok {
		items = items[:0]
		for _, item := range list {
			items = append(items, item.(map[string]any))
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, item := range items {
		result, err := run(item, string(script))
		if err != nil {
			fail("%s: %v", name(item), err)
		}
		if os.Args[1] == "action" {
			err = out.Encode(result)
		} else {
			err = out.Encode(health(item, result))
		}
		if err != nil {
			fail("%v", err)
		}
	}
}

func name(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	return fmt.Sprintf("%v/%v", obj["kind"], meta["name"])
}

// health checks a script's answer as Argo CD does: a table whose status is a known code
// (anything else reads Unknown, "Lua returned an invalid health status").
func health(obj map[string]any, result any) map[string]any {
	answer, ok := result.(map[string]any)
	if !ok {
		fail("%s: expect table output from Lua script, not %T", name(obj), result)
	}
	meta, _ := obj["metadata"].(map[string]any)
	line := map[string]any{"kind": obj["kind"], "name": meta["name"], "status": answer["status"], "message": answer["message"]}
	if code, _ := answer["status"].(string); !healthCodes[code] {
		line["status"], line["message"] = "Unknown", "Lua returned an invalid health status"
	}
	return line
}

// run evaluates script with obj as its global `obj` and returns what it returns, as JSON values.
func run(obj map[string]any, script string) (any, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.OsLibName, openSafeOs}} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return nil, err
		}
	}
	L.PreloadModule(lua.OsLibName, func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), safeOs))
		return 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return nil, err
	}
	return fromLua(L.Get(-1)), nil
}

// safeOs is the part of Lua's os library Argo CD exposes to scripts.
var safeOs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func openSafeOs(L *lua.LState) int {
	L.Push(L.RegisterModule(lua.OsLibName, safeOs))
	return 1
}

func osTime(L *lua.LState) int {
	L.Push(lua.LNumber(time.Now().Unix()))
	return 1
}

// osDate formats the time with the strftime directives our scripts use (%Y %m %d %H %M %S %X);
// a leading "!" means UTC, as in Lua.
func osDate(L *lua.LState) int {
	format := L.OptString(1, "%c")
	t := time.Now()
	if strings.HasPrefix(format, "!") {
		t, format = t.UTC(), format[1:]
	}
	layouts := map[byte]string{'Y': "2006", 'm': "01", 'd': "02", 'H': "15", 'M': "04", 'S': "05", 'X': "15:04:05", 'c': time.ANSIC}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			if layout, ok := layouts[format[i+1]]; ok {
				b.WriteString(t.Format(layout))
				i++
				continue
			}
		}
		b.WriteByte(format[i])
	}
	L.Push(lua.LString(b.String()))
	return 1
}

func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		table := L.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	case map[string]any:
		table := L.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(L, item))
		}
		return table
	}
	return lua.LNil
}

// fromLua converts a Lua value back to JSON values: a table with array items is a list, any
// other table an object.
func fromLua(value lua.LValue) any {
	switch v := value.(type) {
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		return string(v)
	case *lua.LTable:
		if v.MaxN() > 0 {
			list := []any{}
			for i := 1; i <= v.MaxN(); i++ {
				list = append(list, fromLua(v.RawGetInt(i)))
			}
			return list
		}
		object := map[string]any{}
		v.ForEach(func(key, item lua.LValue) { object[key.String()] = fromLua(item) })
		return object
	}
	return nil
}
