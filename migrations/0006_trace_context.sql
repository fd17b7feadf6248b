-- 0005_trace_context: what lets one message be followed in a tracing
-- system from the SaaS's publish request to each attempt (OpenTelemetry).
--
-- * messages.trace_parent is the W3C traceparent of the publish request's
--   span. Fan-out and every attempt, however much later and on whichever
--   worker, start their own span linked to it. It is on the message rather
--   than in River's job metadata so that retries, replays, resends and the
--   sweep's re-enqueued jobs all link back to the same publish. NULL when
--   the message was published without tracing.
-- * endpoints.forward_trace_context asks that each attempt send the
--   attempt span's traceparent header to the receiver, so that a customer
--   who traces too can join hookd's trace. Off unless the endpoint asks:
--   a trace id is information about the sender's systems.

ALTER TABLE messages ADD COLUMN trace_parent text;
ALTER TABLE endpoints ADD COLUMN forward_trace_context boolean NOT NULL DEFAULT false;
