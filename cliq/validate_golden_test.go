package cliq_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/taskerhq/tasker/cliq"
)

// TestGoldensValidate checks every *.golden file of the module as what it
// is (see validateGolden).
func TestGoldensValidate(t *testing.T) {
	root := ".." // the module root, from cliq/
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".golden") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"bot/testdata/", "cards/testdata/", "extension/testdata/", "cliq/testdata/"} {
		if !slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, dir) }) {
			t.Errorf("no golden files under %s: is the walk looking in the right place?", dir)
		}
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := validateGolden(raw); err != nil {
				t.Error(err)
			}
		})
	}
}

// validateGolden checks raw as what it is. Most goldens are handler answers:
// messages, banners or forms, told apart by their type. The extension's
// incoming-webhook answer wraps a message that its Deluge script posts to a
// channel (extension/incoming.go), so that message is checked as a post.
func validateGolden(raw []byte) error {
	var envelope struct {
		Channel *string         `json:"channel"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(raw, &envelope); err == nil && envelope.Message != nil && bytes.HasPrefix(envelope.Message, []byte("{")) {
		if err := cliq.ValidateJSON(cliq.ChannelPost, envelope.Message); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		return nil
	}
	return cliq.ValidateResponse(raw)
}
