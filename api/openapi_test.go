package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// oaDocument is the part of an OpenAPI 3 document the tests read.
type oaDocument struct {
	OpenAPI  string `json:"openapi"`
	Info     struct{ Title, Version string }
	Security []map[string][]string `json:"security"`
	// Paths maps a path to its operations by lower-case method, plus
	// path-level "parameters".
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]json.RawMessage `json:"schemas"`
		Responses map[string]oaResponse      `json:"responses"`
	} `json:"components"`
}

type oaOperation struct {
	OperationID string                 `json:"operationId"`
	Security    *[]map[string][]string `json:"security"`
	Responses   map[string]oaResponse  `json:"responses"`
}

type oaResponse struct {
	Ref         string `json:"$ref"`
	Description string `json:"description"`
	Content     map[string]struct {
		Schema json.RawMessage `json:"schema"`
	} `json:"content"`
}

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI fetches GET /openapi.json and checks its structure loosely:
// an OpenAPI 3 document whose operations all have responses with status
// codes, and whose every $ref resolves.
func loadOpenAPI(t *testing.T, ts *testServer) *oaDocument {
	t.Helper()
	r := ts.do(t, req{Method: "GET", Path: "/openapi.json"})
	expectStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var doc oaDocument
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info needs a title and a version")
	}
	if len(doc.Paths) == 0 {
		t.Fatal("no paths")
	}
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		for key, raw := range item {
			if key == "parameters" || key == "summary" || key == "description" {
				continue
			}
			if !slices.Contains(oaMethods, key) {
				t.Errorf("%s: %q is not an HTTP method", path, key)
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s %s: %v", key, path, err)
				continue
			}
			if op.OperationID == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: needs an operationId and responses", key, path)
			}
			for code, res := range op.Responses {
				if len(code) != 3 || code[0] < '1' || code[0] > '5' {
					t.Errorf("%s %s: response key %q is not a status code", key, path, code)
				}
				if res.Ref == "" && res.Description == "" {
					t.Errorf("%s %s %s: a response needs a description", key, path, code)
				}
			}
		}
	}
	var all any
	r.decode(t, &all)
	for _, ref := range collectRefs(all, nil) {
		if _, err := resolveRef(&doc, ref); err != nil {
			t.Errorf("%v", err)
		}
	}
	return &doc
}

func collectRefs(v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = collectRefs(x, out)
		}
	case []any:
		for _, x := range v {
			out = collectRefs(x, out)
		}
	}
	return out
}

// resolveRef finds a "#/components/…" reference's raw value.
func resolveRef(doc *oaDocument, ref string) (json.RawMessage, error) {
	if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
		if s, ok := doc.Components.Schemas[name]; ok {
			return s, nil
		}
	}
	if name, ok := strings.CutPrefix(ref, "#/components/responses/"); ok {
		if r, ok := doc.Components.Responses[name]; ok {
			return json.Marshal(r)
		}
	}
	if strings.HasPrefix(ref, "#/components/parameters/") {
		return json.RawMessage(`{}`), nil // parameters are not checked further
	}
	return nil, fmt.Errorf("$ref %q does not resolve", ref)
}

// response resolves an operation's documented response for status.
func (doc *oaDocument) response(op *oaOperation, status int) (oaResponse, bool) {
	res, ok := op.Responses[fmt.Sprint(status)]
	if ok && res.Ref != "" {
		res, ok = doc.Components.Responses[strings.TrimPrefix(res.Ref, "#/components/responses/")]
	}
	return res, ok
}

// checkSchema checks a decoded JSON value against the subset of JSON
// Schema the document uses: $ref, allOf, oneOf, type (one or a list),
// required, properties, items, additionalProperties.
func (doc *oaDocument) checkSchema(raw json.RawMessage, v any, at string) error {
	var s struct {
		Ref        string                     `json:"$ref"`
		AllOf      []json.RawMessage          `json:"allOf"`
		OneOf      []json.RawMessage          `json:"oneOf"`
		Type       any                        `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Items      json.RawMessage            `json:"items"`
		Additional json.RawMessage            `json:"additionalProperties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: schema: %v", at, err)
	}
	if s.Ref != "" {
		target, err := resolveRef(doc, s.Ref)
		if err != nil {
			return err
		}
		return doc.checkSchema(target, v, at)
	}
	for _, sub := range s.AllOf {
		if err := doc.checkSchema(sub, v, at); err != nil {
			return err
		}
	}
	if len(s.OneOf) > 0 {
		var errs []string
		for _, sub := range s.OneOf {
			err := doc.checkSchema(sub, v, at)
			if err == nil {
				break
			}
			errs = append(errs, err.Error())
		}
		if len(errs) == len(s.OneOf) {
			return fmt.Errorf("%s: matches none of oneOf: %s", at, strings.Join(errs, "; "))
		}
	}
	if s.Type != nil {
		types := []string{}
		switch t := s.Type.(type) {
		case string:
			types = append(types, t)
		case []any:
			for _, x := range t {
				types = append(types, fmt.Sprint(x))
			}
		}
		if !slices.Contains(types, jsonSchemaType(v)) && !(jsonSchemaType(v) == "integer" && slices.Contains(types, "number")) {
			return fmt.Errorf("%s: %s, want %s", at, jsonSchemaType(v), strings.Join(types, " or "))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range s.Required {
			if _, ok := v[k]; !ok {
				return fmt.Errorf("%s: required key %q missing", at, k)
			}
		}
		for k, x := range v {
			sub, ok := s.Properties[k]
			if !ok {
				sub = s.Additional
			}
			if len(sub) == 0 || string(sub) == "true" {
				continue
			}
			if err := doc.checkSchema(sub, x, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if len(s.Items) == 0 {
				break
			}
			if err := doc.checkSchema(s.Items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonSchemaType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

// routeTable lists the router's routes that the document must cover, by
// the path the document names them with: the fixed paths, the room
// routes with their {room_id}, and what dispatch answers before the table.
// The 404 route of non-numeric room ids is no endpoint.
func routeTable(s *Server) map[string]*route {
	out := map[string]*route{
		"/chat/v1/room/{room_id}/":                   s.routes.room,
		"/chat/v1/room/{room_id}/messages/":          s.routes.history,
		"/chat/v1/room/{room_id}/members/":           s.routes.members,
		"/chat/v1/room/{room_id}/members/{user_id}/": s.routes.member,
		"/chat/v1/room/{room_id}/read/":              s.routes.read,
		"/chat/v1/message/{message_id}/":             s.routes.message,
		"/user/v1/users/{user_id}/":                  s.routes.user,
	}
	for p, rt := range s.routes.fixed {
		out[p] = rt
	}
	return out
}

// The document and the router list the same routes, each with the same
// methods; every route of the table is among them.
func TestOpenAPICoversTheRouter(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	doc := loadOpenAPI(t, ts)
	table := routeTable(ts.srv)
	for path, rt := range table {
		item, ok := doc.Paths[path]
		if !ok {
			t.Errorf("route %s is not in openapi.json", path)
			continue
		}
		var documented []string
		for key := range item {
			if slices.Contains(oaMethods, key) {
				documented = append(documented, strings.ToUpper(key))
			}
		}
		routed := slices.Collect(maps.Keys(rt.methods))
		slices.Sort(documented)
		slices.Sort(routed)
		if !slices.Equal(documented, routed) {
			t.Errorf("%s: openapi.json documents %v, the router has %v", path, documented, routed)
		}
		// The path as a client sends it reaches this very route.
		if got, _, _, ok := ts.srv.match(strings.NewReplacer("{room_id}", "1", "{user_id}", "2", "{message_id}", "1").Replace(path)); !ok || got != rt {
			t.Errorf("%s does not route to its own table entry", path)
		}
	}
	for path := range doc.Paths {
		if _, ok := table[path]; !ok {
			t.Errorf("openapi.json documents %s, which the router does not serve", path)
		}
	}
	// Every route of the routes struct is reached by a documented path.
	v := reflect.ValueOf(ts.srv.routes)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Type() != reflect.TypeFor[*route]() || v.Type().Field(i).Name == "unknownRoom" {
			continue
		}
		found := false
		for _, rt := range table {
			found = found || reflect.ValueOf(rt).Pointer() == f.Pointer()
		}
		if !found {
			t.Errorf("route %s of the router is not documented", v.Type().Field(i).Name)
		}
	}
}

// Every documented operation answers a valid request with a documented
// 2xx status and a body of the documented shape, and, when the document
// says it needs a token, answers 401 without one or with a bad one.
func TestOpenAPIOperationsAnswerAsDocumented(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	doc := loadOpenAPI(t, ts)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "openapi", 0)
	msg := ts.postMessage(t, u, room.ID, "첫 메시지")
	msgID := msg.ID
	other := ts.newUser(t)
	roomPath := func(p string) string {
		return strings.NewReplacer("{room_id}", fmt.Sprint(room.ID), "{user_id}", fmt.Sprint(other.ID), "{message_id}", fmt.Sprint(msgID)).Replace(p)
	}

	// A valid request for each operation, by "METHOD path" as documented.
	valid := map[string]func() req{
		"POST /user/v1/register/": func() req {
			return req{Body: registerBody(uniqueEmail("openapi"), "오픈")}
		},
		"POST /user/v1/login/": func() req {
			return req{Body: map[string]string{"email": u.Email, "password": testPassword}}
		},
		"POST /user/v1/token/refresh/": func() req { return req{Body: map[string]string{"refresh": u.Refresh}} },
		"POST /user/v1/logout/": func() req {
			_, refresh := ts.login(t, u.Email, testPassword) // its own, so that u's stays valid
			return req{Body: map[string]string{"refresh": refresh}}
		},
		"GET /user/v1/profile/":                 func() req { return req{} },
		"PATCH /user/v1/profile/":               func() req { return req{Body: map[string]string{"nickname": "새 이름"}} },
		"GET /user/v1/users/{user_id}/":         func() req { return req{} },
		"GET /chat/v1/room/":                    func() req { return req{} },
		"POST /chat/v1/room/":                   func() req { return req{Body: map[string]any{"name": "another", "post": 7}} },
		"GET /chat/v1/room/{room_id}/":          func() req { return req{} },
		"GET /chat/v1/room/{room_id}/messages/": func() req { return req{} },
		"POST /chat/v1/room/direct/":            func() req { return req{Body: map[string]any{"user": other.ID}} },
		"GET /chat/v1/room/inbox/":              func() req { return req{} },
		"POST /chat/v1/room/{room_id}/read/":    func() req { return req{Body: map[string]any{"seq": 1}} },
		"GET /chat/v1/room/{room_id}/members/":  func() req { return req{} },
		"POST /chat/v1/room/{room_id}/members/": func() req { return req{Body: map[string]any{"user": other.ID}} },
		"DELETE /chat/v1/room/{room_id}/members/{user_id}/": func() req {
			ts.do(t, req{Method: "POST", Path: roomPath("/chat/v1/room/{room_id}/members/"), Token: u.Access, Body: map[string]any{"user": other.ID}})
			return req{}
		},
		"POST /chat/v1/message/":               func() req { return req{Body: map[string]any{"room": room.ID, "message": "hello"}} },
		"GET /chat/v1/message/{message_id}/":   func() req { return req{} },
		"PATCH /chat/v1/message/{message_id}/": func() req { return req{Body: map[string]any{"message": "고친 메시지"}} },
		"DELETE /chat/v1/message/{message_id}/": func() req {
			msgID = ts.postMessage(t, u, room.ID, "지울 메시지").ID // its own, so that the others stay editable
			return req{}
		},
		"GET /healthz":      func() req { return req{} },
		"GET /readyz":       func() req { return req{} },
		"GET /openapi.json": func() req { return req{} },
	}
	paths := slices.Sorted(maps.Keys(doc.Paths))
	checked := 0
	for _, path := range paths {
		for _, method := range oaMethods {
			raw, ok := doc.Paths[path][method]
			if !ok {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			name := strings.ToUpper(method) + " " + path
			build, ok := valid[name]
			if !ok {
				t.Errorf("%s: the test has no valid request for it; add one", name)
				continue
			}
			secured := len(doc.Security) > 0
			if op.Security != nil {
				secured = len(*op.Security) > 0
			}
			r := build()
			r.Method, r.Path = strings.ToUpper(method), roomPath(path)
			if secured {
				r.Token = u.Access
			}
			res := ts.do(t, r)
			documented, ok := doc.response(&op, res.Status)
			if !ok || res.Status/100 != 2 {
				t.Errorf("%s: a valid request got %d (%s), documented: %v", name, res.Status, res.Body, slices.Sorted(maps.Keys(op.Responses)))
				continue
			}
			if c, ok := documented.Content["application/json"]; ok && len(c.Schema) > 0 {
				var body any
				res.decode(t, &body)
				if err := doc.checkSchema(c.Schema, body, name+" "+fmt.Sprint(res.Status)); err != nil {
					t.Errorf("%v: %s", err, res.Body)
				}
			}
			checked++
			if !secured {
				continue
			}
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s needs a token but does not document 401", name)
			}
			for _, token := range []string{"", "not-a-token"} {
				r := build()
				r.Method, r.Path, r.Token = strings.ToUpper(method), roomPath(path), token
				res := ts.do(t, r)
				if res.Status != http.StatusUnauthorized {
					t.Errorf("%s with token %q: %d, want 401: %s", name, token, res.Status, res.Body)
				}
			}
		}
	}
	if checked < len(valid) {
		t.Errorf("checked %d operations, the test knows %d: is the document missing some?", checked, len(valid))
	}
}

// TestProtocolDocStatesDefaultFrameLimit: the API reference gives the
// frame limit a server with no configuration has, wherever it names it.
func TestProtocolDocStatesDefaultFrameLimit(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	limit := fmt.Sprintf("%.2f KiB", float64(Config{}.Defaults().MaxFrameBytes)/1024)
	seen := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.Contains(line, "`--max-frame`") {
			seen++
			if !strings.Contains(line, limit) {
				t.Errorf("PROTOCOL.md does not give the default frame limit (%s) here: %s", limit, line)
			}
		}
	}
	if seen == 0 {
		t.Fatal("PROTOCOL.md does not mention --max-frame")
	}
}
