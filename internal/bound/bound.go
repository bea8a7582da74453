// Package bound parses the workspace-bound secret lists of the
// configuration, TASKER_API_KEYS and TASKER_INCOMING_SECRET, by one rule.
package bound

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/taskerhq/tasker/tasks"
)

// Secret is one entry: a secret and the workspace it opens.
type Secret struct {
	Value     string
	Workspace tasks.WorkspaceID
}

// Parse reads a comma list of SECRET[@WORKSPACE]. Entries are split at the
// last "@", so a secret may contain one; without a workspace an entry opens
// tasks.DefaultWorkspace. Blank around entries is trimmed. An empty list is
// no secrets; an empty entry, an empty secret, a bad workspace or a secret
// given twice is an error that names the entry by position and never
// quotes a secret.
func Parse(s string) ([]Secret, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	entries := strings.Split(s, ",")
	out := make([]Secret, 0, len(entries))
	seen := make(map[[sha256.Size]byte]bool, len(entries))
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty", i+1)
		}
		value, ws := entry, tasks.DefaultWorkspace
		if at := strings.LastIndexByte(entry, '@'); at >= 0 {
			value, ws = entry[:at], tasks.WorkspaceID(entry[at+1:])
		}
		if value == "" {
			return nil, fmt.Errorf("entry %d has an empty secret", i+1)
		}
		if err := ws.Valid(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		d := sha256.Sum256([]byte(value))
		if seen[d] {
			return nil, fmt.Errorf("entry %d repeats an earlier secret", i+1)
		}
		seen[d] = true
		out = append(out, Secret{Value: value, Workspace: ws})
	}
	return out, nil
}
