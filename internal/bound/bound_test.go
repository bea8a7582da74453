package bound

import (
	"strings"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

func TestParse(t *testing.T) {
	got, err := Parse(" k1@acme, k2 ,p@ss@60009876543")
	want := []Secret{{"k1", "acme"}, {"k2", tasks.DefaultWorkspace}, {"p@ss", "60009876543"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("Parse = %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
	if got, err := Parse("  "); err != nil || got != nil {
		t.Errorf("Parse(blank) = %v, %v; want none", got, err)
	}
	for in, wantErr := range map[string]string{
		"k1,,k2":     "entry 2 is empty",
		"k1,":        "entry 2 is empty",
		"@acme":      "entry 1 has an empty secret",
		"k1@":        "entry 1",
		"k1@{acme}":  "entry 1",
		"k1@a,k1@b":  "entry 2 repeats",
		"s3cr3t@a b": "entry 1",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, wantErr)
		}
		if err != nil && (strings.Contains(err.Error(), "k1") || strings.Contains(err.Error(), "s3cr3t")) {
			t.Errorf("Parse(%q) error %q quotes a secret", in, err)
		}
	}
}
