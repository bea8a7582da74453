package cliq

import (
	"encoding/hex"
	"strings"
	"testing"
)

func FuzzParseSignatures(f *testing.F) {
	for _, seed := range []string{
		Sign("s", 1, []byte("{}")),
		Sign("s", 1, []byte("{}")) + ", v1=" + strings.Repeat("ab", 32),
		"v1=", "v0=abc", "v1=zz", ",,, ", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, sig := range parseSignatures(header) {
			if len(sig) != 32 {
				t.Fatalf("parseSignatures(%q) gave a %d-byte signature", header, len(sig))
			}
			// What parses round-trips through the header's own form.
			again := parseSignatures("v1=" + hex.EncodeToString(sig))
			if len(again) != 1 || string(again[0]) != string(sig) {
				t.Fatalf("round trip of %x failed", sig)
			}
		}
	})
}
