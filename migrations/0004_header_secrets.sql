-- 0004_header_secrets: endpoint custom headers encrypted at rest, endpoints
-- can mark headers secret, and credentials scrubbed from the attempt log.
--
-- Why: custom headers often carry credentials (Authorization: Bearer ...,
-- Cookie, X-Api-Key), yet they were stored in plain text and copied into
-- every attempt's request_headers, while signing secrets are encrypted.
--
-- * endpoints.headers becomes text holding the header map as one JSON
--   object, either sealed with AES-256-GCM under HOOKD_SECRET_KEY and bound
--   to the endpoint's id ('enc:v1:...', as endpoint_secrets.secret), or in
--   plain text ('{...}'; a JSON object never starts with 'enc:', so the two
--   cannot be confused). SQL has no key, so this file only changes the type
--   (jsonb::text keeps every existing object as it is). The encryption is
--   done in Go: `hookd serve` and `hookd dev` seal every plain row when they
--   start (store.SealHeaders, safe to run from several processes), every
--   write seals, and `hookd rotate-secret-key` re-encrypts the headers with
--   the secrets. Plain rows keep reading meanwhile, so nothing breaks
--   between the migration and the first start. A hookd of an older version
--   cannot read sealed headers: upgrade every process together.
-- * secret_headers lists header names, beyond the built-in credential
--   names, whose values are shown as [redacted] in the attempt log and the
--   API. Compared without regard to case.
-- * Attempts already logged had the credential headers in clear; they are
--   redacted here with the same built-in rule as delivery.IsSecretHeader
--   (Authorization, Cookie, Proxy-Authorization, X-Api-Key, and names ending
--   in -token, -key or -secret), so that a database dump no longer holds
--   them. This is one pass over attempts, rewriting only the rows that
--   have such a header.

ALTER TABLE endpoints ALTER COLUMN headers DROP DEFAULT;
ALTER TABLE endpoints ALTER COLUMN headers TYPE text USING headers::text;
ALTER TABLE endpoints ALTER COLUMN headers SET DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN secret_headers text[] NOT NULL DEFAULT '{}';

UPDATE attempts a SET request_headers = (
    SELECT jsonb_object_agg(k, CASE
        WHEN lower(k) IN ('authorization', 'cookie', 'proxy-authorization', 'x-api-key')
            OR lower(k) ~ '-(token|key|secret)$' THEN '["[redacted]"]'::jsonb
        ELSE v END)
    FROM jsonb_each(a.request_headers) AS h(k, v))
WHERE EXISTS (
    SELECT 1 FROM jsonb_object_keys(a.request_headers) AS h(k)
    WHERE lower(k) IN ('authorization', 'cookie', 'proxy-authorization', 'x-api-key')
        OR lower(k) ~ '-(token|key|secret)$');
