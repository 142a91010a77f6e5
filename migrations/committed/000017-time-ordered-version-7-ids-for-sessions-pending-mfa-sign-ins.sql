--! Previous: sha1:9a4327d56a7a3399fd1e5b45c711eb8adc712506
--! Hash: sha1:58894a1bb1caa7f7e27b650524f0c0845b0691f3
--! Message: time-ordered (version 7) ids for sessions, pending MFA sign-ins and MFA challenges

--! split: 1-current.sql
-- Time-ordered ids for the rows every sign-in writes.
--
-- Sessions, pending MFA sign-ins and MFA challenges took random (version 4)
-- UUIDs: each insert landed on a random leaf page of a primary key that holds
-- millions of entries (5 million sessions in the benchmark data), so nearly
-- every insert read a cold page and, after each checkpoint, wrote a full-page
-- image of it to the WAL. Version 7 UUIDs (RFC 9562) start with the time in
-- milliseconds, so new ids are appended at the right edge of the index; the
-- other 74 bits stay random. A session id tells its holder when the session
-- was opened, which the holder knows. Account ids stay random: they are shared
-- with other parties, and would tell them when the account was opened.
create or replace function app_private.uuid_v7() returns uuid
  language sql volatile parallel safe
  return encode(
    set_bit(set_bit(                                          -- version nibble 0100 (4) becomes 0111 (7)
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6),                                        -- the first 48 bits: Unix time in milliseconds
      52, 1), 53, 1),
    'hex')::uuid;
comment on function app_private.uuid_v7() is
  'A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then random bits. For rows inserted at a high rate, so their primary key grows at one end.';

alter table app.user_sessions alter column id set default app_private.uuid_v7();
alter table app_private.mfa_logins alter column id set default app_private.uuid_v7();
alter table app_private.mfa_challenges alter column id set default app_private.uuid_v7();
