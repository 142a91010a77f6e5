-- pgTAP helpers, loaded by scripts/test.mjs into schema `tests` of the test
-- database only. Identity is switched by one helper, as PostgREST would.

create or replace function tests.create_user(email text, password text default 'correct horse battery staple',
                                             role text default 'customer')
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_id uuid;
begin
  v_id := app.signup(email, password, null, null, 'Test', 'User', null, '192.0.2.1', 'pgtap');
  update app.users u set role = create_user.role where u.id = v_id;
  return v_id;
end
$$;

-- Acts as PostgREST does for a request with this user's access token.
create or replace function tests.authenticate_as(user_id uuid, session_id uuid default null, aal text default 'aal1')
  returns void
  language plpgsql volatile
  as $$
declare
  v_role text;
begin
  select case u.role when 'customer' then 'authenticated' else u.role end into v_role from app.users u where u.id = user_id;
  perform set_config('request.jwt.claims', json_build_object(
    'sub', user_id, 'role', v_role, 'sid', session_id, 'aal', aal, 'token_use', 'access',
    'iss', coalesce(nullif(current_setting('app.settings.jwt_issuer', true), ''), 'https://auth.dwaybank.local'),
    'exp', extract(epoch from now() + interval '15 minutes')::bigint)::text, true);
  execute format('set local role %I', v_role);
end
$$;

create or replace function tests.authenticate_as_anon() returns void
  language plpgsql volatile
  as $$
begin
  perform set_config('request.jwt.claims', '', true);
  set local role anon;
end
$$;

create or replace function tests.clear_authentication() returns void
  language plpgsql volatile
  as $$
begin
  perform set_config('request.jwt.claims', '', true);
  reset role;
end
$$;

-- The verbose plan of a query, as text (to see what the planner inlined).
create or replace function tests.plan_text(query text) returns text
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
  as $$
declare
  v_line text;
  v_out text := '';
begin
  for v_line in execute 'explain (verbose, costs off) ' || query loop
    v_out := v_out || v_line || E'\n';
  end loop;
  return v_out;
end
$$;

grant usage on schema tests to public;
grant execute on all functions in schema tests to public;


-- A refusal as a client sees it (one error shape, db/errors.md): SQLSTATE PGRST with {code, message, hint}
-- as JSON in MESSAGE and {status, headers} in DETAIL. `expected` is the product code (WEAK_PASSWORD) or,
-- when it is a sentence, the message; null checks the status and the shape only.
create or replace function tests.throws_api(query text, status integer, expected text, description text)
  returns text
  language plpgsql volatile
  as $$
declare
  v_state text;
  v_message text;
  v_detail text;
  v_body jsonb;
  v_meta jsonb;
begin
  begin
    execute query;
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
  end;
  if v_state is null then
    return ok(false, description) || E'\n' || diag('    no error was raised');
  end if;
  begin
    v_body := v_message::jsonb;
    v_meta := v_detail::jsonb;
  exception when others then
    null;
  end;
  if v_state <> 'PGRST' or v_body is null or v_meta is null
     or jsonb_typeof(v_body -> 'code') <> 'string' or jsonb_typeof(v_body -> 'message') <> 'string'
     or jsonb_typeof(v_body -> 'hint') <> 'string' then
    return ok(false, description) || E'\n' || diag(format('    not the API error shape: %s %s (%s)', v_state, v_message, v_detail));
  end if;
  return ok((v_meta ->> 'status')::integer = throws_api.status
            and (expected is null or expected in (v_body ->> 'code', v_body ->> 'message')), description)
    || case when (v_meta ->> 'status')::integer = throws_api.status and (expected is null or expected in (v_body ->> 'code', v_body ->> 'message'))
            then '' else E'\n' || diag(format('    got %s %s', v_meta ->> 'status', v_body)) end;
end
$$;
