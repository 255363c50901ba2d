package e2e

import (
	"os/exec"
	"syscall"
	"time"
)

// stopProcess stops a triggerd process the test started as a user would
// (SIGTERM, so it drains and commits), and kills it if it has not exited
// after grace.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
