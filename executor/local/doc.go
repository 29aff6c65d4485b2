// Package local holds what the local executor (engine.LocalExecutor, which
// runs stages in the refeval process) needs from this machine that the
// engine must not know: how to find its accelerator devices (gpus.go, an
// engine.DeviceSource). The engine hands out the ids; the vendor tool that
// lists them is named only here.
package local
