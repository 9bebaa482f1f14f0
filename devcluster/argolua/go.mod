// Wrapper module of the Argo CD health test tool: github.com/yuin/gopher-lua, the Lua
// interpreter Argo CD embeds, at the version Argo CD pins, running our health and action
// scripts on live objects (tests/integration).
module ecs-operator.dev/devcluster/argolua

go 1.26.0

require github.com/yuin/gopher-lua v1.1.1
