package api_test

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
)

// TestOpenAPIDocumentIsValid checks that the served document is the file in
// the repository and a valid OpenAPI 3.1 document.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	status, header, served := h.do(t, http.MethodGet, "/api/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/json", header.Get("Content-Type"))
	file, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.Equal(t, string(file), string(served), "the server serves api/openapi.json")

	d, err := openapi3.NewLoader().LoadFromData(served)
	require.NoError(t, err)
	require.True(t, d.IsOpenAPI31OrLater(), "openapi is %s", d.OpenAPI)
	require.NoError(t, d.Validate(context.Background()))

	// Every operation has an id, a summary and a documented error answer.
	for path, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.NotEmpty(t, op.Summary, "%s %s", method, path)
			if strings.HasPrefix(path, "/api/v1/") {
				require.NotNil(t, op.Responses.Value("401"), "%s %s documents 401", method, path)
				require.NotNil(t, op.Responses.Value("422"), "%s %s documents 422", method, path)
			}
		}
	}
}

// echoParam turns echo's ":name" path parameters into OpenAPI's "{name}".
var echoParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestEveryRouteIsDocumented checks that the routes of the server and the
// paths of the document are the same set.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	e, ok := api.New(api.Config{AdminKey: adminKey}).(*echo.Echo)
	require.True(t, ok, "api.New returns an *echo.Echo")

	var served []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || r.Path == "/*" {
			continue // group catch-alls and the web pages
		}
		if !strings.HasPrefix(r.Path, "/api/") && !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, r.Path) {
			continue // a web page (like /portal/login), not part of the JSON API
		}
		served = append(served, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}

	var documented []string
	for path, item := range doc(t).doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	served = slices.Compact(served)
	sort.Strings(documented)

	var undocumented, unserved []string
	for _, r := range served {
		if !slices.Contains(documented, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			unserved = append(unserved, r)
		}
	}
	require.Empty(t, undocumented, "routes the server has but api/openapi.json does not describe")
	require.Empty(t, unserved, "operations api/openapi.json describes but the server does not have")
}
