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

