package extension

import (
	"net/http"
	"testing"
)

// maxFuzzSeed leaves out the largest samples as seeds: with them the fuzzing
// engine's workers make almost no progress. Their shapes are covered by the
// smaller samples and by TestSamples.
const maxFuzzSeed = 8 << 10

// fuzzSource checks that no body makes src panic or produce a card beyond
// Cliq's limits, seeded with the real samples.
func fuzzSource(f *testing.F, src Source, header http.Header) {
	for _, s := range loadSamples(f) {
		if len(s.body) <= maxFuzzSeed {
			f.Add(s.body)
		}
	}
	f.Add([]byte(`{"object_kind":"push","commits":[{"id":"x","message":"\u0000\ud800"}],"total_commits_count":"9e99"}`))
	f.Add([]byte(`{"title":"{@all}","url":"https://x.example/` + string(make([]byte, 300)) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkLimits(t, FormatAs(src, Payload{Header: header, Body: body}))
		checkLimits(t, Format(Payload{Header: http.Header{}, Body: body}))
	})
}

func FuzzGitLab(f *testing.F) {
	fuzzSource(f, gitlab{}, http.Header{"X-Gitlab-Event": {"Push Hook"}})
}

func FuzzGitHub(f *testing.F) {
	for _, seed := range []string{
		`{"action":"opened","issue":{"number":1,"title":"t","html_url":"https://github.com/o/r/issues/1","labels":[{"name":"bug"}]},"sender":{"login":"a"},"repository":{"full_name":"o/r"}}`,
		`{"action":"closed","pull_request":{"number":2,"title":"p","merged":true,"head":{"ref":"x"},"base":{"ref":"main"},"additions":3},"sender":{"login":"a"}}`,
		`{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"body":"c","html_url":"https://github.com/o/r/pull/1#c"}}`,
	} {
		f.Add([]byte(seed))
	}
	fuzzSource(f, github{}, http.Header{"X-Github-Event": {"push"}})
}

func FuzzGeneric(f *testing.F) {
	f.Add([]byte(`{"event":"x","data":{"title":"t","user":{"name":"n"}}}`))
	f.Add([]byte(`[{"name":"a"}]`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkLimits(t, Format(Payload{Header: http.Header{"Content-Type": {"text/plain"}}, Body: body}))
	})
}
