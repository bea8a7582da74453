package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/taskerhq/tasker/deluge"
)

// runDeluge prints or writes the Deluge scripts with this deployment's
// public URL and Cliq secret filled in.
func runDeluge(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("deluge", stderr)
	out := fs.String("out", "", "write the scripts under this directory instead of printing them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.CliqSecret == "" {
		return errors.New("deluge: set TASKER_CLIQ_SECRET to the secret the service runs with; the scripts sign with it")
	}
	rendered, err := deluge.Render(cfg.PublicURL, cfg.CliqSecret)
	if err != nil {
		return err
	}
	for _, w := range deluge.Warnings(cfg.PublicURL) {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *out == "" {
		return deluge.Print(stdout, rendered)
	}
	if err := deluge.WriteDir(*out, rendered); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d scripts under %s\n", len(rendered), *out)
	return nil
}
