package client_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// methods maps every operationId of api/openapi.json to the Client methods
// that call it: the one-page call first, then its iterator for lists.
var methods = map[string][]string{
	"getHealthz": {"Health"},
	"getReadyz":  {"Ready"},
	"getMetrics": {"Metrics"},
	"getOpenAPI": {"OpenAPI"},

	"listTenants":  {"ListTenants", "AllTenants"},
	"upsertTenant": {"UpsertTenant"},
	"getTenant":    {"GetTenant"},
	"deleteTenant": {"DeleteTenant"},

	"createTenantKey": {"CreateTenantKey"},
	"listTenantKeys":  {"ListTenantKeys"},
	"revokeTenantKey": {"RevokeTenantKey"},

	"createPortalLink":     {"CreatePortalLink"},
	"revokePortalSessions": {"RevokePortalSessions"},
	"getPortalSession":     {"PortalSession"},
	"portalLogout":         {"PortalLogout"},
	"createPortalSession":  {"CreatePortalSession"},

	"createEventType":  {"CreateEventType"},
	"listEventTypes":   {"ListEventTypes", "AllEventTypes"},
	"getEventType":     {"GetEventType"},
	"updateEventType":  {"UpdateEventType"},
	"putEventType":     {"PutEventType"},
	"archiveEventType": {"ArchiveEventType"},

	"listVersionEndpoints": {"ListVersionEndpoints", "AllVersionEndpoints"},

	"createEndpoint":       {"CreateEndpoint"},
	"listEndpoints":        {"ListEndpoints", "AllEndpoints"},
	"getEndpoint":          {"GetEndpoint"},
	"updateEndpoint":       {"UpdateEndpoint"},
	"deleteEndpoint":       {"DeleteEndpoint"},
	"getEndpointSecret":    {"GetEndpointSecret"},
	"rotateEndpointSecret": {"RotateEndpointSecret"},
	"recoverEndpoint":      {"RecoverEndpoint"},
	"listEndpointAttempts": {"ListEndpointAttempts", "AllEndpointAttempts"},
	"getEndpointStats":     {"GetEndpointStats"},
	"sendTestEvent":        {"SendTestEvent", "SendTestEventVersion"},
	"startEndpointCheck":   {"StartEndpointCheck"},
	"listEndpointChecks":   {"ListEndpointChecks", "AllEndpointChecks"},
	"getEndpointCheck":     {"GetEndpointCheck"},
	"backfillEndpoint":     {"BackfillEndpoint", "CountBackfill"},

	"publishMessage":      {"Publish"},
	"listMessages":        {"ListMessages", "AllMessages"},
	"getMessage":          {"GetMessage"},
	"listMessageAttempts": {"ListMessageAttempts", "AllMessageAttempts"},
	"resendMessage":       {"ResendMessage"},
	"expungeMessage":      {"ExpungeMessage"},
	"getAttempt":          {"GetAttempt"},

	"createReplay": {"CreateReplay", "CountReplay"},
	"listReplays":  {"ListReplays", "AllReplays"},
	"getReplay":    {"GetReplay"},

	"listFailingEndpoints": {"ListFailingEndpoints", "AllFailingEndpoints"},
	"listDeliveries":       {"ListDeliveries", "AllDeliveries"},
	"getQueue":             {"GetQueue"},

	"createOperationalEndpoint":       {"CreateOperationalEndpoint"},
	"listOperationalEndpoints":        {"ListOperationalEndpoints", "AllOperationalEndpoints"},
	"getOperationalEndpoint":          {"GetOperationalEndpoint"},
	"updateOperationalEndpoint":       {"UpdateOperationalEndpoint"},
	"deleteOperationalEndpoint":       {"DeleteOperationalEndpoint"},
	"getOperationalEndpointSecret":    {"GetOperationalEndpointSecret"},
	"rotateOperationalEndpointSecret": {"RotateOperationalEndpointSecret"},
	"listOperationalEndpointAttempts": {"ListOperationalEndpointAttempts", "AllOperationalEndpointAttempts"},
}

// operationIDs lists the document's operations.
func operationIDs(t *testing.T) []string {
	t.Helper()
	d, err := loadDoc()
	require.NoError(t, err)
	var ids []string
	for _, item := range d.doc.Paths.Map() {
		for _, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "every operation has an operationId")
			ids = append(ids, op.OperationID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestEveryOperationHasAMethod holds the client to the document: every
// operation has a method, the table names no operation that is not in the
// document, and every exported method is in the table.
func TestEveryOperationHasAMethod(t *testing.T) {
	t.Parallel()
	ids := operationIDs(t)
	require.Len(t, ids, 59, "the document's operations (update this test's count and table together)")
	typ := reflect.TypeFor[*client.Client]()
	for _, id := range ids {
		names, ok := methods[id]
		if !assertf(t, ok, "operation %s has no client method in the table", id) {
			continue
		}
		for _, name := range names {
			_, ok := typ.MethodByName(name)
			assertf(t, ok, "operation %s: (*client.Client).%s does not exist", id, name)
		}
	}
	listed := map[string]bool{}
	for id, names := range methods {
		assertf(t, slices.Contains(ids, id), "the table has %s, which is not an operation of the document", id)
		for _, n := range names {
			listed[n] = true
		}
	}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		assertf(t, listed[name], "(*client.Client).%s calls no operation of the table", name)
	}
}

func assertf(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}
