// Package delivery turns published messages into signed HTTP requests and
// keeps trying until each endpoint has them or the retry schedule runs out.
//
// It owns the River job args and workers (fan-out and deliver), Standard
// Webhooks signing ([Sign]), the outbound HTTP client ([Sender]) with its
// private-address guard ([Guard]), the retry schedule ([Schedule]) and the
// recording of every attempt. Only this package decides whether a failed
// attempt is retried, snoozed or given up.
//
// It also owns publishing: the checks every publish passes ([Validator]),
// the group-committed [Service.Publish] behind the REST API, and
// [Publisher.PublishTx] for Go apps that publish inside their own Postgres
// transaction.
package delivery
