package delugetest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// mustRun parses and runs src and returns its result as JSON text.
func mustRun(t *testing.T, src string, env Env) string {
	t.Helper()
	got, err := mustParse(t, "test.dg", src).Run(context.Background(), env)
	if err != nil {
		t.Fatalf("Run(%q) = %v", src, err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal %#v: %v", got, err)
	}
	return string(b)
}

// runErr parses and runs src and returns the run's error.
func runErr(t *testing.T, src string, env Env) error {
	t.Helper()
	_, err := mustParse(t, "test.dg", src).Run(context.Background(), env)
	return err
}

func TestExpressions(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`1 + 2 * 3`, `7`},
		{`(1 + 2) * 3`, `9`},
		{`7 / 2`, `3.5`},
		{`6 / 3`, `2`},
		{`(7 / 2).toLong()`, `3`},
		{`(-7 / 2).toLong()`, `-3`},
		{`7 % 3`, `1`},
		{`1.5 + 1`, `2.5`},
		{`10 - 2 - 3`, `5`},
		{`-3 + 1`, `-2`},
		{`"a" + 1`, `"a1"`},
		{`1 + "a"`, `"1a"`},
		{`"n=" + 2.5`, `"n=2.5"`},
		{`"x" + null`, `"x"`},
		{`"b" + true`, `"btrue"`},
		{`"m" + {"k":[1,"x"]}`, `"m{\"k\":[1,\"x\"]}"`},
		{`200 == 200.0`, `true`},
		{`"200" == 200`, `false`},
		{`null == null`, `true`},
		{`null != "x"`, `true`},
		{`{"a":1} == {"a":1}`, `true`},
		{`{1,2} != {2,1}`, `true`},
		{`2 < 10`, `true`},
		{`"b" > "a"`, `true`},
		{`3 >= 3 && 2 <= 1`, `false`},
		{`false || !false`, `true`},
		{`if(1 > 2, "yes", "no")`, `"no"`},
		{`ifnull(null, "d")`, `"d"`},
		{`ifNull("v", "d")`, `"v"`},
		{`isNull("")`, `true`},
		{`isNull(0)`, `false`},
		{`isBlank("  ")`, `true`},
		{`isBlank(List())`, `true`},
		{`isBlank("x")`, `false`},
		{`"Line\n\t\"q\" \\"`, `"Line\n\t\"q\" \\"`},
		{`"Hello".length()`, `5`},
		{`" Hi ".trim().toUpperCase()`, `"HI"`},
		{`"abc".contains("b") && "abc".startsWith("a") && "abc".endsWith("c")`, `true`},
		{`"a-b-c".replaceAll("-([a-z])", "+$1")`, `"a+b+c"`},
		{`"42".toLong() + 1`, `43`},
		{`"2.5".toDecimal()`, `2.5`},
		{`5.toString() + 1`, `"51"`},
		{`5.toDecimal() / 2`, `2.5`},
		{`"".isEmpty()`, `true`},
		{`"{\"a\":{\"b\":[1,2.5,true,null]}}".toMap()`, `{"a":{"b":[1,2.5,true,null]}}`},
		{`"{\"a\":7}".getJSON("a")`, `7`},
		{`"[1,\"x\"]".toJSONList().get(1)`, `"x"`},
		{`{"a","b"}`, `["a","b"]`},
		{`["a", 1]`, `["a",1]`},
		{`{}`, `{}`},
		{`{"z":1, "a":{"y":[]}}`, `{"z":1,"a":{"y":[]}}`},
		{`zoho.encryption.hmacsha256("key", "data", "hex")`, `"5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0"`},
		{`zoho.encryption.hmacsha256("key", "data")`, `"UDH+PZicbRU3oBP6bnOdojRj/a7DtwE32Cjjas4iG9A="`},
		{`zoho.encryption.base64Encode("héllo")`, `"aMOpbGxv"`},
		{`zoho.encryption.base64Decode("aMOpbGxv")`, `"héllo"`},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			if got := mustRun(t, "return "+tc.expr+";", Env{}); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
			}
		})
	}
}

func TestMapAndListMethods(t *testing.T) {
	src := `
m = Map();
m.put("b", 1);
m.put("a", "x");
m.put("b", 2); // keeps its place
other = {"c":true};
m.putAll(other);
r = m.remove("a");
l = List();
l.add("first");
l.addAll({"second", "third"});
removed = l.remove(0);
return {"m":m, "keys":m.keys(), "get":m.get("b"), "absent":m.get("nope"),
	"hasKey":m.containKey("c"), "hasValue":m.containValue(2), "size":m.size(),
	"empty":Map().isEmpty(), "r":r, "l":l, "removed":removed, "l0":l.get(0),
	"lsize":l.size(), "lhas":l.contains("third"), "ltext":l.toString(), "mtext":m.toString()};`
	want := `{"m":{"b":2,"c":true},"keys":["b","c"],"get":2,"absent":null,"hasKey":true,"hasValue":true,"size":2,` +
		`"empty":true,"r":"x","l":["second","third"],"removed":"first","l0":"second","lsize":2,"lhas":true,` +
		`"ltext":"[\"second\",\"third\"]","mtext":"{\"b\":2,\"c\":true}"}`
	if got := mustRun(t, src, Env{}); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestToStringJSON checks the serialisation the scripts sign: compact, insertion
// order, text escaped as JSON, attributes keeping their JSON types.
func TestToStringJSON(t *testing.T) {
	src := `p = Map();
p.put("text", "say \"hi\"\\\n\tnow");
p.put("attr", attr);
p.put("long", 12);
p.put("dec", 0.25);
p.put("none", null);
return p.toString();`
	attr := json.RawMessage(`{"z":"ü<&>","a":[1, 2.5e0, false], "ctl":"\u0001"}`)
	got := mustRun(t, src, Env{Attrs: map[string]any{"attr": attr}})
	var text string
	if err := json.Unmarshal([]byte(got), &text); err != nil {
		t.Fatal(err)
	}
	want := `{"text":"say \"hi\"\\\n\tnow","attr":{"z":"ü<&>","a":[1,2.5,false],"ctl":"\u0001"},"long":12,"dec":0.25,"none":null}`
	if text != want {
		t.Errorf("toString() = %s\nwant         %s", text, want)
	}
}

func TestDatePatterns(t *testing.T) {
	now := time.Date(2025, 3, 4, 9, 5, 7, 8e6, time.UTC)
	for _, tc := range []struct {
		pattern string
		loc     *time.Location
		want    string
	}{
		{"yyyy-MM-dd'T'HH:mm:ssXXX", time.UTC, "2025-03-04T09:05:07Z"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", time.FixedZone("", 5*3600+1800), "2025-03-04T14:35:07.008+05:30"},
		{"yyyy-MM-dd HH:mm:ss Z", time.FixedZone("", -7*3600), "2025-03-04 02:05:07 -0700"},
		{"dd MMM yy, h:mm a 'o''clock' EEE", time.UTC, "04 Mar 25, 9:05 AM o'clock Tue"},
		{"X XX", time.FixedZone("", -3*3600-1800), "-03 -0330"},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			src := `return zoho.currenttime.toString("` + strings.ReplaceAll(tc.pattern, `"`, `\"`) + `");`
			got := mustRun(t, src, Env{Now: func() time.Time { return now }, Location: tc.loc})
			if want, _ := json.Marshal(tc.want); got != string(want) {
				t.Errorf("toString(%q) = %s, want %s", tc.pattern, got, want)
			}
		})
	}
	if got := mustRun(t, `return zoho.currenttime.toLong();`, Env{Now: func() time.Time { return now }}); got != "1741079107008" {
		t.Errorf("toLong() = %s", got)
	}
	if got := mustRun(t, `return zoho.currenttime.toString();`, Env{Now: func() time.Time { return now }}); got != `"04-Mar-2025 09:05:07"` {
		t.Errorf("toString() = %s", got)
	}
	if err := runErr(t, `return zoho.currenttime.toString("yyyy-QQ");`, Env{}); err == nil || !strings.Contains(err.Error(), "letter Q") {
		t.Errorf("unknown letter: err = %v", err)
	}
}

func TestTryCatch(t *testing.T) {
	src := `x = "start";
try
{
	m = Map();
	v = "not json".toMap();
	x = "unreached";
}
catch (e)
{
	return {"line":e.lineNo, "msg":e.message, "text":"" + e, "x":x};
}`
	var got struct {
		Line int
		Msg  string
		Text string
		X    string
	}
	if err := json.Unmarshal([]byte(mustRun(t, src, Env{})), &got); err != nil {
		t.Fatal(err)
	}
	if got.Line != 5 || !strings.Contains(got.Msg, "not a JSON object") || got.Text != got.Msg+" (line 5)" || got.X != "start" {
		t.Errorf("caught %+v, want line 5, the toMap error, x start", got)
	}

	// Uncaught, the error reaches the caller with its line.
	err := runErr(t, "a = 1;\nb = null.toString();", Env{})
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "on null") {
		t.Errorf("uncaught: err = %v, want line 2 about null", err)
	}
}

func TestLoops(t *testing.T) {
	src := `out = List();
for each x in {1, 2, 3, 4, 5, 6}
{
	if(x == 2)
	{
		continue;
	}
	if(x == 5)
	{
		break;
	}
	for each y in {"a", "b"}
	{
		if(y == "b")
		{
			break;
		}
		out.add(x + y);
	}
}
return out;`
	if got := mustRun(t, src, Env{}); got != `["1a","3a","4a"]` {
		t.Errorf("loop result = %s", got)
	}
	if _, err := Parse("t.dg", "break;"); err == nil {
		t.Error("break outside a loop parsed")
	}
}

func TestIfElseChain(t *testing.T) {
	src := `if(n < 0) { r = "neg"; } else if(n == 0) { r = "zero"; } else { r = "pos"; }
return r;`
	for n, want := range map[int]string{-1: `"neg"`, 0: `"zero"`, 3: `"pos"`} {
		if got := mustRun(t, src, Env{Attrs: map[string]any{"n": n}}); got != want {
			t.Errorf("n=%d: %s, want %s", n, got, want)
		}
	}
}

func TestUndefinedVariables(t *testing.T) {
	src := `if(flag)
{
	x = 1;
	info ghost;
}
for each item in {1}
{
	info item;
}
try { y = 2; } catch (err) { info err.message; }
user = "me";
nope.put("a", frob(1));
return x + y;`
	p := mustParse(t, "t.dg", src)
	err := p.Check([]string{"flag", "user"})
	want := "line 4: variable \"ghost\" is not defined\n" +
		"line 11: cannot assign to attribute \"user\"\n" +
		"line 12: variable \"nope\" is not defined\n" +
		"line 12: unknown function frob"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v\nwant %s", err, want)
	}

	// The branch that reads ghost never runs, so only Check finds it; a run fails
	// at the first undefined read, even inside try.
	prog := mustParse(t, "t.dg", "if(flag) { info ghost; }\ntry { info later; } catch (e) { }\nreturn 1;")
	_, err = prog.Run(context.Background(), Env{Attrs: map[string]any{"flag": false}})
	if err == nil || err.Error() != `t.dg: line 2: variable "later" is not defined` {
		t.Errorf("Run = %v", err)
	}
	if err := prog.Check([]string{"flag"}); err == nil || !strings.Contains(err.Error(), `line 1: variable "ghost"`) {
		t.Errorf("Check = %v, want ghost on line 1", err)
	}
}

func TestStepBudget(t *testing.T) {
	src := `l = {1,2,3,4,5,6,7,8,9,10};
n = 0;
for each a in l { for each b in l { for each c in l { n = n + 1; } } }
return n;`
	if got := mustRun(t, src, Env{MaxSteps: 2000}); got != "1000" {
		t.Errorf("within budget: %s", got)
	}
	big := strings.Replace(src, "{1,2,3,4,5,6,7,8,9,10}", "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}", 1)
	err := runErr(t, "try {"+big+"} catch (e) { return 0; }", Env{})
	if err == nil || !strings.Contains(err.Error(), "statement limit of 5000 exceeded") {
		t.Errorf("over budget: err = %v", err)
	}
}

func TestRunHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mustParse(t, "t.dg", "x = 1;").Run(ctx, Env{})
	if !errors.Is(err, context.Canceled) && (err == nil || !strings.Contains(err.Error(), "canceled")) {
		t.Errorf("Run with a cancelled context = %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = 1", `t.dg: line 1:6: expected ";", found end of script`},
		{"x = \"abc;", "t.dg: line 1:5: text is not closed"},
		{"\n\n  if(x { }", `t.dg: line 3:8: expected ")", found "{"`},
		{"x = 1 < 2 < 3;", "t.dg: line 1:11: comparisons cannot be chained; use && between them"},
		{"1 + 2;", "t.dg: line 1:1: expression is not a statement: only calls may stand alone"},
		{"r = invokeurl [ url: \"http://x\" files: f ];", `t.dg: line 1:33: invokeurl key "files" is not supported`},
		{"if = 2;", `t.dg: line 1:4: expected "(", found "="`},
		{"x = \"\\q\";", `t.dg: line 1:5: unknown escape \q in text`},
	} {
		_, err := Parse("t.dg", tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestInvokeURL(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type")+" "+string(b))
		w.Header().Set("X-Id", "7")
		if r.URL.Path == "/text" {
			io.WriteString(w, "plain")
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	src := `base = "` + srv.URL + `";
a = invokeurl
[
	url :base + "/json"
	type :POST
	parameters:{"k":"v w", "n":2}
];
b = invokeurl [ url: base + "/text" type: "get" parameters: {"q":"1"} ];
c = invokeurl [ url: base + "/d" type: PUT body: "raw" content-type: "text/csv" detailed: true ];
d = invokeurl [ url: base + "/x" type: DELETE headers: {"Content-Type":"application/json"} body: "{}" ];
return {"a":a.get("ok"), "b":b, "code":c.get("responseCode"), "text":c.get("responseText"),
	"id":c.get("responseHeader").get("X-Id"), "d":d};`
	res := mustRun(t, src, Env{HTTPClient: srv.Client()})
	if want := `{"a":true,"b":"plain","code":201,"text":"{\"ok\":true}","id":"7","d":{"ok":true}}`; res != want {
		t.Errorf("result %s\nwant   %s", res, want)
	}
	want := []string{
		"POST /json application/x-www-form-urlencoded k=v+w&n=2",
		"GET /text?q=1  ",
		"PUT /d text/csv raw",
		"DELETE /x application/json {}",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPostToChannelMissing(t *testing.T) {
	err := runErr(t, `r = zoho.cliq.postToChannel("c", "hi");`, Env{})
	if err == nil || !strings.Contains(err.Error(), "Env.PostToChannel is nil") {
		t.Errorf("err = %v", err)
	}
}

func TestRunResultTypes(t *testing.T) {
	got, err := mustParse(t, "t.dg", `return {"n":1, "d":1.5, "l":{"x"}, "m":{"k":null}};`).Run(context.Background(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := got.(*Object)
	if !ok || strings.Join(o.Keys, ",") != "n,d,l,m" || o.Values["n"] != json.Number("1") || o.Values["d"] != json.Number("1.5") {
		t.Fatalf("result %#v", got)
	}
	if l, ok := o.Values["l"].([]any); !ok || len(l) != 1 || l[0] != "x" {
		t.Errorf("l = %#v", o.Values["l"])
	}
	if m, ok := o.Values["m"].(*Object); !ok || m.Values["k"] != nil || len(m.Keys) != 1 {
		t.Errorf("m = %#v", o.Values["m"])
	}
}

func TestCyclicValue(t *testing.T) {
	err := runErr(t, `m = Map(); m.put("self", m); return m.toString();`, Env{})
	if err == nil || !strings.Contains(err.Error(), "contains itself") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	texts, _ := scripts(f)
	for _, src := range texts {
		f.Add(src)
	}
	for _, seed := range []string{
		`x = {"a":[1,2.5,"t"]}; for each i in x.get("a") { info i; } return x;`,
		`try { y = 1 / 0; } catch (e) { return "" + e + e.lineNo; }`,
		`m = Map(); m.put("m", m); l = List(); l.add(l); return m.toString() + l;`,
		`s = "ab"; for each i in {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25} { s = s + s; } return s.length();`,
		`return zoho.currenttime.toString("yyyy'T'HH:mm:ss.SSSXXX Z EEEE MMMM a h");`,
		`r = invokeurl [ url: "http://example.invalid/" type: GET detailed: true ]; return r;`,
		`return ((-9223372036854775807 - 1) % -1) + 9.9e0;`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz.dg", src)
		if err != nil {
			return
		}
		_ = p.Check([]string{"user", "chat", "arguments"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = p.Run(ctx, Env{
			Attrs:         map[string]any{"user": map[string]any{"id": "1"}, "chat": nil, "arguments": "a b"},
			HTTPClient:    &http.Client{Transport: failingTransport{}},
			PostToChannel: func(string, any) any { return nil },
			MaxSteps:      500,
		})
		if errors.Is(err, ErrInternal) {
			t.Fatalf("Run(%q) panicked: %v", src, err)
		}
	})
}

// failingTransport refuses every request, so fuzzed scripts never reach a network.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in fuzzing")
}

// TestSharedValuesAreBounded builds a list that refers to itself 2^40 times
// without a cycle: serialising or returning it must fail, not exhaust memory.
func TestSharedValuesAreBounded(t *testing.T) {
	src := "l = {1};\n" + strings.Repeat("l = {l, l};\n", 40)
	for _, tail := range []string{"return l;", "return l.toString();", "return l == l.get(0);"} {
		if err := runErr(t, src+tail, Env{}); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%s: err = %v, want too large", tail, err)
		}
	}
}

func TestUnknownNames(t *testing.T) {
	src := "m = Map();\nm.containsKey(\"a\");\nx = zoho.crm.getRecords(\"Leads\");\ny = e.msg;\nz = List(1);"
	err := mustParse(t, "t.dg", src).Check(nil)
	want := "line 2: unknown method containsKey\n" +
		"line 3: unknown function zoho.crm.getRecords\n" +
		"line 4: variable \"e\" is not defined\n" +
		"line 4: unknown field msg (only a caught error has message and lineNo)\n" +
		"line 5: List takes 0 arguments, got 1"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v\nwant %s", err, want)
	}
	if err := runErr(t, src, Env{}); err == nil || err.Error() != "test.dg: line 2: map has no method containsKey" {
		t.Errorf("Run = %v", err)
	}
}
