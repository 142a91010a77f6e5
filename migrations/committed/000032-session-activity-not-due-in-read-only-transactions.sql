--! Previous: sha1:71098f0b10b173825c5febb6b5ab9dc8eec5aba1
--! Hash: sha1:88e32176f81b515485f635ec517c1b103d8e9b57
--! Message: Session activity is never due in a read-only transaction: the pre-request's liveness query is the whole check for GET

--! split: 1-current.sql
-- The migration being written. Add N-topic.sql files here (idempotent: they are
-- re-run on every save by `npm run migrate:watch`), then commit them with
-- `npm run migrate:commit -- --message "what it does"`. Committed files in
-- migrations/committed/ are never edited.

--! split: 3-session-perf.sql
-- Issue 18: session validation at the speed of PostgREST itself. What was measured, what won and what lost is in
-- bench/README.md ("Session validation: where the time goes").
--
-- app.check_request (db-pre-request) asks app.session_activity_due whether to stamp the session's activity, and
-- then calls app.update_session_activity, which re-reads the session, opens a subtransaction (its exception block)
-- and, in the read-only transaction PostgREST runs every GET and HEAD in, writes nothing. A session whose last
-- write was more than a minute ago was "due" on every such request, so each one paid for that second function.
-- A stamp is never due where it cannot be written: check_request's own liveness query (the same conditions) is
-- then the whole check, as it already was for a session stamped within the minute. No rule changes; POST, PATCH
-- and DELETE stamp the session as before.
-- Idempotent: create or replace (the grants stay: none but the owner's).

create or replace function app.session_activity_due(session app.user_sessions, presented text)
  returns boolean
  language sql
  stable
  parallel safe
  return pg_catalog.current_setting('transaction_read_only') = 'off'
     and ((session).last_activity_at < now() - interval '1 minute' or app.session_user_agent_changed(session, presented));

comment on function app.session_activity_due(session app.user_sessions, presented text) is 'Whether app.update_session_activity would write: in a transaction that may write, last use more than a minute ago, or a changed user agent.';
