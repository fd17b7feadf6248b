//go:build !linux

package main

import "syscall"

// hookdSysProcAttr is nil off Linux: hookd shares hookbench's process
// group, and there is no parent-death signal.
func hookdSysProcAttr() *syscall.SysProcAttr { return nil }
