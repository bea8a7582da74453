package delugetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// invokeTimeout is how long Deluge waits for an answer before a socket-timeout
// error (REFERENCE 9).
const invokeTimeout = 40 * time.Second

// invoke runs an invokeurl block (REFERENCE 13.6). Non-2xx answers are results;
// transport failures are catchable runtime errors.
func (in *interp) invoke(n *invokeExpr) (any, error) {
	vals := map[string]any{}
	for _, key := range invokeKeys { // a fixed order, so errors are deterministic
		if x, ok := n.keys[key]; ok {
			v, err := in.eval(x)
			if err != nil {
				return nil, err
			}
			vals[key] = v
		}
	}
	req, err := in.request(vals)
	if err != nil {
		return nil, fail(n, "invokeurl: %v", err)
	}
	ctx, cancel := context.WithTimeout(in.ctx, invokeTimeout)
	defer cancel()
	resp, err := in.env.HTTPClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fail(n, "invokeurl: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxText+1))
	if err != nil {
		return nil, fail(n, "invokeurl: reading the answer: %v", err)
	}
	if len(body) > maxText {
		return nil, fail(n, "invokeurl: answer %v", errTooLarge)
	}
	detailed, ok := vals["detailed"]
	if ok && detailed != true && detailed != false {
		return nil, fail(n, "invokeurl: detailed is %s, not a boolean", typeName(detailed))
	}
	if detailed != true {
		// Without detailed, a JSON object answer arrives as a map, anything else as text.
		if m, err := textToMap(string(body), nil); err == nil {
			return m, nil
		}
		return string(body), nil
	}
	headers := newMap()
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := headers.put(name, strings.Join(resp.Header.Values(name), ", ")); err != nil {
			return nil, fail(n, "invokeurl: %v", err)
		}
	}
	out := newMap()
	for _, kv := range []struct {
		k string
		v any
	}{{"responseCode", int64(resp.StatusCode)}, {"responseText", string(body)}, {"responseHeader", headers}} {
		if err := out.put(kv.k, kv.v); err != nil {
			return nil, fail(n, "invokeurl: %v", err)
		}
	}
	return out, nil
}

// request builds the HTTP request from the evaluated invokeurl keys.
func (in *interp) request(vals map[string]any) (*http.Request, error) {
	rawURL, ok := vals["url"].(string)
	if !ok {
		return nil, fmt.Errorf("url is %s, not text", typeName(vals["url"]))
	}
	method := "GET"
	if v, ok := vals["type"]; ok {
		m, isText := v.(string)
		if !isText || !slices.Contains(httpMethods, strings.ToUpper(m)) {
			return nil, fmt.Errorf("type must be one of %s", strings.Join(httpMethods, ", "))
		}
		method = strings.ToUpper(m)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an absolute http(s) URL", rawURL)
	}
	header := http.Header{}
	var body string
	if v, ok := vals["body"]; ok {
		if body, err = text(v); err != nil {
			return nil, err
		}
		header.Set("Content-Type", "text/plain") // Deluge's default for a text body
	}
	if v, ok := vals["parameters"]; ok {
		switch p := v.(type) {
		case *dmap:
			form := url.Values{}
			for _, k := range p.keys {
				s, err := text(p.vals[k])
				if err != nil {
					return nil, err
				}
				form.Add(k, s)
			}
			if method == "GET" || method == "DELETE" {
				q := u.Query()
				for k, vs := range form {
					q[k] = append(q[k], vs...)
				}
				u.RawQuery = q.Encode()
			} else {
				body = form.Encode()
				header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		case string: // older docs: text parameters are the raw body
			body = p
		default:
			return nil, fmt.Errorf("parameters is %s, not a map or text", typeName(v))
		}
	}
	if v, ok := vals["content-type"]; ok {
		s, isText := v.(string)
		if !isText {
			return nil, fmt.Errorf("content-type is %s, not text", typeName(v))
		}
		header.Set("Content-Type", s)
	}
	if v, ok := vals["headers"]; ok {
		h, isMap := v.(*dmap)
		if !isMap {
			return nil, fmt.Errorf("headers is %s, not a map", typeName(v))
		}
		for _, k := range h.keys {
			s, err := text(h.vals[k])
			if err != nil {
				return nil, err
			}
			header.Set(k, s)
		}
	}
	req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	return req, nil
}
