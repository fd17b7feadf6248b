-- 0008_portal_embed: options of portal links, carried onto their sessions,
-- and sessions that travel as a bearer token instead of a cookie.
--
-- Why: the SaaS embeds the portal in its own dashboard (an iframe from
-- another site), where browsers that block third-party cookies never send
-- the session cookie. Such a session is started by the embedded page
-- exchanging the link's token for a session token that it sends as
-- `Authorization: Bearer`; there is no ambient credential, so no CSRF token
-- either. `bearer` records how a session travels, so that a session token
-- is never accepted as a cookie, nor a cookie as a bearer token.
-- * read_only: the session may look at endpoints and the delivery log but
--   change nothing (the API refuses every write with 403).
-- * accent_color ('' = the operators' colour) and dark: the theme the link
--   asked for, to match the page it is embedded in.
-- The link's options are copied to the session in the statement that
-- spends the link, so a session keeps them even after the link is gone.

ALTER TABLE portal_links
    ADD COLUMN read_only    boolean NOT NULL DEFAULT false,
    ADD COLUMN accent_color text NOT NULL DEFAULT '',
    ADD COLUMN dark         boolean NOT NULL DEFAULT false;

ALTER TABLE portal_sessions
    ADD COLUMN read_only    boolean NOT NULL DEFAULT false,
    ADD COLUMN accent_color text NOT NULL DEFAULT '',
    ADD COLUMN dark         boolean NOT NULL DEFAULT false,
    ADD COLUMN bearer       boolean NOT NULL DEFAULT false;
