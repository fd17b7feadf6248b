package main

import "syscall"

// hookdSysProcAttr puts hookd in its own process group, so that a Ctrl-C at
// the terminal reaches hookbench alone and hookbench stops hookd in order,
// and sends hookd SIGINT should hookbench die first.
func hookdSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
}
