package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitVerifies runs systemd-analyze verify over deploy/tasker.service,
// with ExecStart pointed at an executable that exists here (verify checks it).
// Any warning fails the test: systemd ignores a misspelt key with one.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: make test installs it (scripts/ensure-test-tools)")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "tasker.service"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	if !strings.Contains(text, "ExecStart=/usr/local/bin/tasker serve\n") {
		t.Fatal("the unit does not start /usr/local/bin/tasker serve")
	}
	text = strings.Replace(text, "ExecStart=/usr/local/bin/tasker", "ExecStart="+self, 1)
	path := filepath.Join(t.TempDir(), "tasker.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
