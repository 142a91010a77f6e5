--! Previous: sha1:016b8926b7ab4d6a258d1ed7cd545d2d7dd4d153
--! Hash: sha1:8e27bee60b5020e1592f193be68364b158bfb9c3
--! Message: create kyc table

--! split: 4-kyc.sql
-- KYC/AML: verifications (kyc_records) with enforced status transitions, the
-- identity data submitted, risk scoring with its factors, documents (the files
-- are encrypted by the gateway and stored outside the database), compliance
-- checks against sanctions/PEP watchlists (pg_trgm over normalised names),
-- four-eyes approval, expiry and renewal through the outbox.
-- (Schemas are dropped and re-created by 1-users.sql; the outbox table comes
-- from 3-mfa.sql.)

------------------------------------------------------------------------------
-- Reference data: country risk and watchlists
------------------------------------------------------------------------------
create table app.kyc_country_risk (
  country_code text primary key constraint kyc_country_risk_country_code_fkey references app.countries (code),
  points integer not null constraint kyc_country_risk_points_chk check (points between 0 and 100),
  reason text not null constraint kyc_country_risk_reason_chk check (length(reason) between 1 and 200)
);
comment on table app.kyc_country_risk is
  'Countries that add to a customer''s risk score (nationality or residence). A sample in the spirit of the FATF lists; compliance maintains it.';
alter table app.kyc_country_risk enable row level security;
alter table app.kyc_country_risk force row level security;
create policy select_staff on app.kyc_country_risk for select to compliance_officer using (true);
grant select on app.kyc_country_risk to compliance_officer;
select audit.enable_tracking('app.kyc_country_risk');
insert into app.kyc_country_risk (country_code, points, reason) values
  ('KP', 40, 'FATF call for action'),
  ('IR', 40, 'FATF call for action'),
  ('MM', 40, 'FATF call for action'),
  ('SY', 30, 'FATF increased monitoring'),
  ('YE', 30, 'FATF increased monitoring'),
  ('SS', 30, 'FATF increased monitoring'),
  ('HT', 25, 'FATF increased monitoring'),
  ('VE', 25, 'FATF increased monitoring');

-- One loaded version of one list (npm run watchlist:load). A list name keeps its
-- versions; screening uses the newest (greatest seq) loaded version of every list.
create table app.watchlists (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity constraint watchlists_seq_key unique,
  name text not null constraint watchlists_name_chk check (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  version text not null constraint watchlists_version_chk check (version ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  source text constraint watchlists_source_chk check (length(source) <= 500),
  status text not null default 'loading' constraint watchlists_status_chk check (status in ('loading', 'loaded')),
  entry_count integer not null default 0,
  created_at timestamptz not null default now(),
  loaded_at timestamptz,
  constraint watchlists_name_version_key unique (name, version),
  constraint watchlists_loaded_chk check ((status = 'loaded') = (loaded_at is not null))
);
comment on table app.watchlists is 'Sanctions and PEP lists by name and version, loaded with npm run watchlist:load.';
alter table app.watchlists enable row level security;
alter table app.watchlists force row level security;
create policy select_staff on app.watchlists for select to compliance_officer using (true);
grant select on app.watchlists to compliance_officer;
select audit.enable_tracking('app.watchlists');

-- Entries are public reference data loaded in bulk: the load itself is audited
-- (event kyc.watchlist.loaded), not each of its rows.
create table app.watchlist_entries (
  id bigint generated always as identity primary key,
  watchlist_id uuid not null constraint watchlist_entries_watchlist_id_fkey references app.watchlists (id) on delete cascade,
  kind text not null constraint watchlist_entries_kind_chk check (kind in ('sanctions', 'pep')),
  external_id text not null constraint watchlist_entries_external_id_chk check (length(external_id) between 1 and 200),
  schema text not null default 'Person' constraint watchlist_entries_schema_chk check (length(schema) between 1 and 50),
  name text not null constraint watchlist_entries_name_chk check (length(name) between 1 and 500),
  aliases text[] not null default '{}',
  birth_date text constraint watchlist_entries_birth_date_chk check (birth_date ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'),
  countries text[] not null default '{}',
  program text constraint watchlist_entries_program_chk check (length(program) <= 1000),
  constraint watchlist_entries_list_external_id_key unique (watchlist_id, external_id)
);
comment on table app.watchlist_entries is 'One listed person or organisation of one list version (OpenSanctions-like fields).';
alter table app.watchlist_entries enable row level security;
alter table app.watchlist_entries force row level security;
create policy select_staff on app.watchlist_entries for select to compliance_officer using (true);
grant select on app.watchlist_entries to compliance_officer;

-- Every name and alias of an entry, normalised (app.normalize_name), for the
-- trigram index screening searches.
create table app.watchlist_names (
  entry_id bigint not null constraint watchlist_names_entry_id_fkey references app.watchlist_entries (id) on delete cascade,
  name_norm text not null constraint watchlist_names_name_norm_chk check (length(name_norm) between 1 and 500),
  constraint watchlist_names_pkey primary key (entry_id, name_norm)
);
create index watchlist_names_name_norm_trgm_idx on app.watchlist_names using gin (name_norm extensions.gin_trgm_ops);
alter table app.watchlist_names enable row level security;
alter table app.watchlist_names force row level security;
create policy select_staff on app.watchlist_names for select to compliance_officer using (true);
grant select on app.watchlist_names to compliance_officer;

-- Lower case, no accents, punctuation as spaces, words sorted: "Ñandú-Ferreira,
-- José" and "jose nandu ferreira" give the same text, so word order, case and
-- accents never hide a listed name.
create function app.normalize_name(name text) returns text
  language sql immutable strict parallel safe
  set search_path = ''
  as $$
    select nullif(array_to_string(array(
             select w from pg_catalog.regexp_split_to_table(
               pg_catalog.regexp_replace(pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, name)),
                                         '[^[:alnum:]]+', ' ', 'g'), ' ') w
             where w <> '' order by w), ' '), '')
  $$;
comment on function app.normalize_name(text) is 'A name for screening: lower case, unaccented, punctuation removed, words sorted.';
grant execute on function app.normalize_name(text) to compliance_officer;

------------------------------------------------------------------------------
-- Verifications
------------------------------------------------------------------------------
create table app.kyc_records (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint kyc_records_user_id_fkey references app.users (id),
  level text not null constraint kyc_records_level_chk check (level in ('basic', 'standard', 'enhanced')),
  status text not null default 'pending'
    constraint kyc_records_status_chk check (status in ('pending', 'in_review', 'approved', 'rejected', 'requires_resubmission', 'expired')),
  -- The identity data submitted
  legal_first_name text not null
    constraint kyc_records_legal_first_name_chk check (length(legal_first_name) between 1 and 100 and legal_first_name !~ '[[:cntrl:][:digit:]@<>{}]'),
  legal_last_name text not null
    constraint kyc_records_legal_last_name_chk check (length(legal_last_name) between 1 and 100 and legal_last_name !~ '[[:cntrl:][:digit:]@<>{}]'),
  date_of_birth date not null constraint kyc_records_date_of_birth_chk check (date_of_birth between '1900-01-01' and '2100-01-01'),
  nationality text not null constraint kyc_records_nationality_fkey references app.countries (code),
  address_line1 text not null constraint kyc_records_address_line1_chk check (length(address_line1) between 1 and 200 and address_line1 !~ '[[:cntrl:]]'),
  address_line2 text constraint kyc_records_address_line2_chk check (length(address_line2) between 1 and 200 and address_line2 !~ '[[:cntrl:]]'),
  city text not null constraint kyc_records_city_chk check (length(city) between 1 and 100 and city !~ '[[:cntrl:]]'),
  postal_code text not null constraint kyc_records_postal_code_chk check (postal_code ~ '^[A-Za-z0-9][A-Za-z0-9 -]{0,10}[A-Za-z0-9]$'),
  residence_country text not null constraint kyc_records_residence_country_fkey references app.countries (code),
  id_document_type text not null constraint kyc_records_id_document_type_chk check (id_document_type in ('passport', 'id_card', 'driving_licence')),
  id_document_number text not null constraint kyc_records_id_document_number_chk check (id_document_number ~ '^[A-Z0-9][A-Z0-9-]{3,29}$'),
  -- Risk
  risk_score integer constraint kyc_records_risk_score_chk check (risk_score between 0 and 100),
  risk_level text constraint kyc_records_risk_level_chk check (risk_level in ('low', 'medium', 'high', 'critical')),
  risk_factors jsonb not null default '[]',
  risk_assessed_at timestamptz,
  -- Decision (four eyes: high/critical need a first approver and a different final reviewer)
  first_approver_id uuid constraint kyc_records_first_approver_id_fkey references app.users (id),
  first_approved_at timestamptz,
  reviewer_id uuid constraint kyc_records_reviewer_id_fkey references app.users (id),
  automated_decision boolean not null default false,
  decision_reason text constraint kyc_records_decision_reason_chk check (length(decision_reason) between 1 and 1000),
  decided_at timestamptz,
  expires_at timestamptz,
  -- Renewal
  renewal_of uuid constraint kyc_records_renewal_of_fkey references app.kyc_records (id),
  renewal_requested_at timestamptz,
  submitted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint kyc_records_not_own_reviewer_chk check (reviewer_id is distinct from user_id and first_approver_id is distinct from user_id),
  constraint kyc_records_four_eyes_chk check (first_approver_id is null or reviewer_id is distinct from first_approver_id),
  constraint kyc_records_first_approval_chk check ((first_approver_id is null) = (first_approved_at is null)),
  constraint kyc_records_approved_chk check (status <> 'approved'
    or (decided_at is not null and expires_at > decided_at and risk_level is not null and (reviewer_id is not null or automated_decision))),
  constraint kyc_records_decided_chk check (status not in ('approved', 'rejected', 'requires_resubmission') or decided_at is not null)
);
comment on table app.kyc_records is
  'One identity verification per row. Status changes follow app.tg_kyc_records__transition; a customer has at most one in progress and one approved.';
comment on column app.kyc_records.risk_factors is 'The factors behind risk_score: [{factor, points, ...}], see app.kyc_risk.';
comment on column app.kyc_records.first_approver_id is 'High/critical risk: the first officer''s approval, awaiting a second, different officer.';

-- One verification in progress, one approved, per customer. Concurrent
-- initiations collide here, so exactly one of them creates a record.
create unique index kyc_records_one_in_progress_idx on app.kyc_records (user_id)
  where status in ('pending', 'in_review', 'requires_resubmission');
create unique index kyc_records_one_approved_idx on app.kyc_records (user_id) include (expires_at) where status = 'approved';
-- The KYC status check (api.get_user_latest_kyc) reads only this index.
create index kyc_records_user_latest_idx on app.kyc_records (user_id, created_at desc)
  include (id, status, level, risk_level, decided_at, expires_at);
create index kyc_records_review_queue_idx on app.kyc_records (risk_score desc, created_at)
  where status in ('pending', 'in_review');
create index kyc_records_expiry_idx on app.kyc_records (expires_at) where status = 'approved';
create index kyc_records_renewal_of_idx on app.kyc_records (renewal_of) where renewal_of is not null;

create trigger _100_timestamps before insert or update on app.kyc_records
  for each row execute function app.tg__timestamps();

-- Allowed status transitions; anything else is a bug or an attack.
create function app.tg_kyc_records__transition() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    if new.status <> 'pending' then
      raise exception 'A verification starts as pending.' using errcode = 'PT409', detail = 'KYC_INVALID_TRANSITION',
        hint = 'Start a verification with initiate_kyc_verification.';
    end if;
    return new;
  end if;
  if new.user_id <> old.user_id or new.level <> old.level or new.created_at <> old.created_at then
    raise exception 'The owner, level and creation time of a verification never change.' using errcode = 'PT409',
      detail = 'KYC_INVALID_TRANSITION', hint = 'Start a new verification instead.';
  end if;
  if new.status <> old.status and not (
       (old.status = 'pending' and new.status in ('in_review', 'rejected', 'requires_resubmission', 'expired'))
    or (old.status = 'in_review' and new.status in ('approved', 'rejected', 'requires_resubmission'))
    or (old.status = 'requires_resubmission' and new.status in ('pending', 'in_review', 'rejected', 'expired'))
    or (old.status = 'approved' and new.status = 'expired')) then
    raise exception 'A verification cannot go from % to %.', old.status, new.status using errcode = 'PT409',
      detail = 'KYC_INVALID_TRANSITION', hint = 'Approved verifications can only expire; rejected and expired ones are final.';
  end if;
  return new;
end
$$;
create trigger _200_transition before insert or update on app.kyc_records
  for each row execute function app.tg_kyc_records__transition();

alter table app.kyc_records enable row level security;
alter table app.kyc_records force row level security;
create policy select_own on app.kyc_records for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.kyc_records for select to compliance_officer using (true);
-- A customer may correct their address while the verification waits for them;
-- nothing else (status, risk, decision) is writable by any API role.
create policy update_own on app.kyc_records for update to authenticated
  using (user_id = app.current_user_id() and status in ('pending', 'requires_resubmission'))
  with check (user_id = app.current_user_id() and status in ('pending', 'requires_resubmission'));
grant select (id, user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality, address_line1,
              address_line2, city, postal_code, residence_country, id_document_type, id_document_number, decided_at,
              expires_at, renewal_of, submitted_at, created_at, updated_at)
  on app.kyc_records to authenticated;
grant select (risk_score, risk_level, risk_factors, risk_assessed_at, first_approver_id, first_approved_at, reviewer_id,
              automated_decision, decision_reason, renewal_requested_at)
  on app.kyc_records to compliance_officer;
grant update (address_line1, address_line2, city, postal_code) on app.kyc_records to authenticated;

select audit.enable_tracking('app.kyc_records', 'user_id',
  pii_columns => '{legal_first_name,legal_last_name,date_of_birth,address_line1,address_line2,city,postal_code,id_document_number}');

------------------------------------------------------------------------------
-- Documents
------------------------------------------------------------------------------
create table app.kyc_documents (
  id uuid primary key default gen_random_uuid(),
  kyc_record_id uuid not null constraint kyc_documents_kyc_record_id_fkey references app.kyc_records (id),
  user_id uuid not null constraint kyc_documents_user_id_fkey references app.users (id),
  document_type text not null
    constraint kyc_documents_document_type_chk check (document_type in ('passport', 'id_card', 'driving_licence', 'proof_of_address', 'selfie')),
  issuing_country text constraint kyc_documents_issuing_country_fkey references app.countries (code),
  document_number text constraint kyc_documents_document_number_chk check (document_number ~ '^[A-Z0-9][A-Z0-9-]{3,29}$'),
  expires_on date,
  status text not null default 'uploaded'
    constraint kyc_documents_status_chk check (status in ('uploaded', 'accepted', 'rejected', 'integrity_failed')),
  quality_score integer constraint kyc_documents_quality_score_chk check (quality_score between 0 and 100),
  quality_notes text constraint kyc_documents_quality_notes_chk check (length(quality_notes) <= 1000),
  reviewed_by uuid constraint kyc_documents_reviewed_by_fkey references app.users (id),
  reviewed_at timestamptz,
  mime_type text not null constraint kyc_documents_mime_type_chk check (mime_type in ('application/pdf', 'image/jpeg', 'image/png')),
  size_bytes integer not null constraint kyc_documents_size_bytes_chk check (size_bytes between 1 and 52428800),
  sha256 bytea not null constraint kyc_documents_sha256_chk check (length(sha256) = 32),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint kyc_documents_identity_chk check (document_type not in ('passport', 'id_card', 'driving_licence')
    or (issuing_country is not null and document_number is not null and expires_on is not null)),
  constraint kyc_documents_not_own_reviewer_chk check (reviewed_by is distinct from user_id)
);
comment on table app.kyc_documents is
  'Metadata of an uploaded document. The file is AES-256-GCM-encrypted by the gateway in its store; its location is in app_private.kyc_document_objects.';
comment on column app.kyc_documents.sha256 is 'SHA-256 of the file as uploaded; the gateway verifies it on every read.';
comment on column app.kyc_documents.mime_type is 'From the file''s magic bytes (PDF, JPEG, PNG), never from its name.';

create index kyc_documents_kyc_record_id_idx on app.kyc_documents (kyc_record_id);
create index kyc_documents_user_id_idx on app.kyc_documents (user_id, created_at desc);

create trigger _100_timestamps before insert or update on app.kyc_documents
  for each row execute function app.tg__timestamps();

alter table app.kyc_documents enable row level security;
alter table app.kyc_documents force row level security;
create policy select_own on app.kyc_documents for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.kyc_documents for select to compliance_officer using (true);
grant select (id, kyc_record_id, user_id, document_type, issuing_country, document_number, expires_on, status, mime_type,
              size_bytes, created_at)
  on app.kyc_documents to authenticated;
grant select (quality_score, quality_notes, reviewed_by, reviewed_at, updated_at) on app.kyc_documents to compliance_officer;
select audit.enable_tracking('app.kyc_documents', 'user_id', pii_columns => '{document_number}');

-- Where the encrypted file is, itself encrypted by the gateway (the location
-- names the customer's object; nobody reading the database learns it).
create table app_private.kyc_document_objects (
  document_id uuid primary key constraint kyc_document_objects_document_id_fkey references app.kyc_documents (id),
  storage_ref text not null constraint kyc_document_objects_storage_ref_chk check (length(storage_ref) between 16 and 2048),
  key_id text not null constraint kyc_document_objects_key_id_chk check (key_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  created_at timestamptz not null default now()
);
select audit.enable_tracking('app_private.kyc_document_objects', null, secret_columns => '{storage_ref}');

------------------------------------------------------------------------------
-- Compliance checks
------------------------------------------------------------------------------
create table app.kyc_compliance_checks (
  id uuid primary key default gen_random_uuid(),
  kyc_record_id uuid not null constraint kyc_compliance_checks_kyc_record_id_fkey references app.kyc_records (id),
  user_id uuid not null constraint kyc_compliance_checks_user_id_fkey references app.users (id),
  check_type text not null
    constraint kyc_compliance_checks_check_type_chk check (check_type in ('sanctions', 'pep', 'adverse_media', 'document_authenticity')),
  provider text not null default 'internal' constraint kyc_compliance_checks_provider_chk check (length(provider) between 1 and 100),
  list_version text constraint kyc_compliance_checks_list_version_chk check (length(list_version) <= 1000),
  matches jsonb not null default '[]' constraint kyc_compliance_checks_matches_chk check (jsonb_typeof(matches) = 'array'),
  top_score integer constraint kyc_compliance_checks_top_score_chk check (top_score between 0 and 100),
  status text not null
    constraint kyc_compliance_checks_status_chk check (status in ('clear', 'potential_match', 'confirmed_match', 'false_positive')),
  resolved_by uuid constraint kyc_compliance_checks_resolved_by_fkey references app.users (id),
  resolved_at timestamptz,
  resolution_note text constraint kyc_compliance_checks_resolution_note_chk check (length(resolution_note) between 3 and 1000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint kyc_compliance_checks_resolved_chk check (
    (status in ('confirmed_match', 'false_positive')) = (resolved_by is not null and resolved_at is not null and resolution_note is not null)),
  constraint kyc_compliance_checks_not_own_chk check (resolved_by is distinct from user_id)
);
comment on table app.kyc_compliance_checks is
  'One screening result per row: the list version, the candidate matches with their scores, and its resolution by an officer.';
create index kyc_compliance_checks_kyc_record_id_idx on app.kyc_compliance_checks (kyc_record_id, check_type);
create index kyc_compliance_checks_open_idx on app.kyc_compliance_checks (kyc_record_id) where status = 'potential_match';

create trigger _100_timestamps before insert or update on app.kyc_compliance_checks
  for each row execute function app.tg__timestamps();

-- Customers never see screening results (no tipping-off); officers see all.
alter table app.kyc_compliance_checks enable row level security;
alter table app.kyc_compliance_checks force row level security;
create policy select_staff on app.kyc_compliance_checks for select to compliance_officer using (true);
grant select on app.kyc_compliance_checks to compliance_officer;
select audit.enable_tracking('app.kyc_compliance_checks', 'user_id');

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------
-- Hook: what an account must satisfy to start a verification. Today: an active
-- account. (The e-mail verification issue adds "e-mail verified" here.)
create function app_private.kyc_precondition(user_id uuid) returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if not exists (select from app.users u where u.id = kyc_precondition.user_id and u.status = 'active' and u.deleted_at is null) then
    raise exception 'Only an active account can be verified.' using errcode = 'PT403', detail = 'ACCOUNT_NOT_ACTIVE',
      hint = 'Contact support if your account is suspended.';
  end if;
end
$$;


-- PostgREST runs GET /rpc/... in a read-only transaction: a call that writes
-- answers with a clear 405 instead of the database's read-only error.
create function app_private.assert_kyc_writable() returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if pg_catalog.current_setting('transaction_read_only') = 'on' then
    raise exception 'This call changes data.' using errcode = 'PT405', detail = 'METHOD_NOT_ALLOWED', hint = 'Use POST.';
  end if;
end
$$;

create function app_private.kyc_risk_level(score integer) returns text
  language sql immutable strict
  set search_path = ''
  as $$ select case when score < 25 then 'low' when score < 50 then 'medium' when score < 75 then 'high' else 'critical' end $$;

create function app_private.kyc_validity(risk_level text) returns interval
  language sql immutable strict
  set search_path = ''
  as $$ select case risk_level when 'low' then interval '3 years' when 'medium' then interval '2 years' else interval '1 year' end $$;

-- The risk score of a verification, 0 to 100, and the factors that make it up:
--   country          nationality or residence in app.kyc_country_risk: its points (the higher of the two)
--   sanctions        unresolved potential match +40, confirmed match +75
--   pep              unresolved potential match +25, confirmed match +35
--   documents        a rejected or integrity-failed document +15; average quality below 60 +10;
--                    no document at all (standard/enhanced) +5
--   level            basic verification +10 (least evidence)
--   account_age      account younger than 7 days +10
--   velocity         3 or more verifications started within 30 days +10
-- Bands: low < 25, medium < 50, high < 75, critical >= 75.
create function app.kyc_risk(kyc_id uuid, now timestamptz default now())
  returns table (score integer, level text, factors jsonb)
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_rec app.kyc_records;
  v_factors jsonb := '[]'::jsonb;
  v_points integer;
  v_docs integer;
  v_quality numeric;
  v_total integer;
begin
  select * into v_rec from app.kyc_records r where r.id = kyc_risk.kyc_id;
  if not found then
    return;
  end if;
  select max(c.points) into v_points from app.kyc_country_risk c
   where c.country_code in (v_rec.nationality, v_rec.residence_country);
  if v_points > 0 then
    v_factors := v_factors || jsonb_build_object('factor', 'country', 'points', v_points,
      'countries', (select jsonb_agg(c.country_code order by c.country_code) from app.kyc_country_risk c
                     where c.country_code in (v_rec.nationality, v_rec.residence_country)));
  end if;
  select max(case c.status when 'confirmed_match' then 75 else 40 end) into v_points from app.kyc_compliance_checks c
   where c.kyc_record_id = v_rec.id and c.check_type = 'sanctions' and c.status in ('potential_match', 'confirmed_match');
  if v_points is not null then
    v_factors := v_factors || jsonb_build_object('factor', 'sanctions', 'points', v_points);
  end if;
  select max(case c.status when 'confirmed_match' then 35 else 25 end) into v_points from app.kyc_compliance_checks c
   where c.kyc_record_id = v_rec.id and c.check_type = 'pep' and c.status in ('potential_match', 'confirmed_match');
  if v_points is not null then
    v_factors := v_factors || jsonb_build_object('factor', 'pep', 'points', v_points);
  end if;
  select count(*), avg(d.quality_score) into v_docs, v_quality from app.kyc_documents d where d.kyc_record_id = v_rec.id;
  if exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id and d.status in ('rejected', 'integrity_failed')) then
    v_factors := v_factors || jsonb_build_object('factor', 'document_rejected', 'points', 15);
  end if;
  if v_quality < 60 then
    v_factors := v_factors || jsonb_build_object('factor', 'document_quality', 'points', 10, 'average_quality', round(v_quality));
  end if;
  if v_docs = 0 and v_rec.level <> 'basic' then
    v_factors := v_factors || jsonb_build_object('factor', 'no_documents', 'points', 5);
  end if;
  if v_rec.level = 'basic' then
    v_factors := v_factors || jsonb_build_object('factor', 'level', 'points', 10, 'level', 'basic');
  end if;
  if (select u.created_at from app.users u where u.id = v_rec.user_id) > kyc_risk.now - interval '7 days' then
    v_factors := v_factors || jsonb_build_object('factor', 'account_age', 'points', 10);
  end if;
  if (select count(*) from app.kyc_records r where r.user_id = v_rec.user_id and r.created_at > kyc_risk.now - interval '30 days') >= 3 then
    v_factors := v_factors || jsonb_build_object('factor', 'velocity', 'points', 10);
  end if;
  select least(100, coalesce(sum((f ->> 'points')::integer), 0))::integer into v_total from jsonb_array_elements(v_factors) f;
  return query select v_total, app_private.kyc_risk_level(v_total), v_factors;
end
$$;
comment on function app.kyc_risk(uuid, timestamptz) is
  'The explainable risk score of a verification (0-100), its band (low <25, medium <50, high <75, critical >=75) and its factors.';

create function app_private.refresh_kyc_risk(kyc_id uuid, now timestamptz) returns text
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_risk record;
begin
  select * into v_risk from app.kyc_risk(kyc_id, now);
  update app.kyc_records r
     set risk_score = v_risk.score, risk_level = v_risk.level, risk_factors = v_risk.factors, risk_assessed_at = now
   where r.id = refresh_kyc_risk.kyc_id
     and (r.risk_score, r.risk_level, r.risk_factors) is distinct from (v_risk.score, v_risk.level, v_risk.factors);
  return v_risk.level;
end
$$;

-- Screens a verification against the newest loaded version of every list of
-- the given kinds, one check row per kind. A candidate is a listed name or
-- alias whose trigram similarity to the customer's normalised legal name is at
-- least dwaybank.kyc_name_similarity (0.45); its score is
--   100 x similarity, +10 if the birth date agrees (as far as the list knows it),
--   -30 if it contradicts, +10 if a listed country is the customer's nationality
--   or residence; clamped to 0..100.
-- A candidate scoring dwaybank.kyc_match_threshold (80) or more makes the check
-- a potential_match for an officer to resolve. Returns the potential matches.
create function app_private.screen_kyc_record(kyc_id uuid, kinds text[], now timestamptz) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_rec app.kyc_records;
  v_name text;
  v_kind text;
  v_matches jsonb;
  v_top integer;
  v_lists text;
  v_hits integer := 0;
  v_threshold integer := app.setting('kyc_match_threshold', '80')::integer;
begin
  select * into v_rec from app.kyc_records r where r.id = screen_kyc_record.kyc_id;
  v_name := app.normalize_name(v_rec.legal_first_name || ' ' || v_rec.legal_last_name);
  perform pg_catalog.set_config('pg_trgm.similarity_threshold', app.setting('kyc_name_similarity', '0.45'), true);
  foreach v_kind in array kinds loop
    select string_agg(w.name || '@' || w.version, ',' order by w.name) into v_lists
      from app.watchlists w
     where w.status = 'loaded'
       and not exists (select from app.watchlists n where n.name = w.name and n.status = 'loaded' and n.seq > w.seq)
       and exists (select from app.watchlist_entries e where e.watchlist_id = w.id and e.kind = v_kind);
    with candidates as (
      select e.id as entry_id, w.name as list, w.version, e.external_id, e.name, e.birth_date, e.countries,
             max(extensions.similarity(n.name_norm, v_name)) as similarity
        from app.watchlist_names n
        join app.watchlist_entries e on e.id = n.entry_id
        join app.watchlists w on w.id = e.watchlist_id
       where n.name_norm operator(extensions.%) v_name
         and e.kind = v_kind
         and w.status = 'loaded'
         and not exists (select from app.watchlists x where x.name = w.name and x.status = 'loaded' and x.seq > w.seq)
       group by e.id, w.name, w.version, e.external_id, e.name, e.birth_date, e.countries
    ), scored as (
      select c.*,
             c.birth_date is not null and to_char(v_rec.date_of_birth, 'YYYY-MM-DD') like c.birth_date || '%' as dob_match,
             c.birth_date is not null and to_char(v_rec.date_of_birth, 'YYYY-MM-DD') not like c.birth_date || '%' as dob_mismatch,
             (upper(v_rec.nationality) = any (c.countries) or upper(v_rec.residence_country) = any (c.countries)) as country_match
        from candidates c
    ), final as (
      select s.*, greatest(0, least(100, round(s.similarity * 100)::integer
               + case when s.dob_match then 10 when s.dob_mismatch then -30 else 0 end
               + case when s.country_match then 10 else 0 end)) as score
        from scored s
    )
    select coalesce(jsonb_agg(jsonb_build_object('entry_id', f.entry_id, 'list', f.list, 'version', f.version,
                                                 'external_id', f.external_id, 'listed_name', f.name,
                                                 'name_similarity', round(f.similarity::numeric, 3), 'dob_match', f.dob_match,
                                                 'dob_mismatch', f.dob_mismatch, 'country_match', f.country_match, 'score', f.score)
                              order by f.score desc) filter (where f.rank <= 10), '[]'::jsonb),
           max(f.score)
      into v_matches, v_top
      from (select fi.*, row_number() over (order by fi.score desc) as rank from final fi) f;
    insert into app.kyc_compliance_checks (kyc_record_id, user_id, check_type, provider, list_version, matches, top_score, status)
    values (v_rec.id, v_rec.user_id, v_kind, 'internal-trgm', v_lists, v_matches, v_top,
            case when v_top >= v_threshold then 'potential_match' else 'clear' end);
    if v_top >= v_threshold then
      v_hits := v_hits + 1;
      perform audit.log_event('kyc.screening.potential_match', v_rec.user_id,
        jsonb_build_object('kyc_id', v_rec.id, 'check_type', v_kind, 'lists', v_lists, 'top_score', v_top), 'warning');
    end if;
  end loop;
  perform app_private.refresh_kyc_risk(v_rec.id, now);
  return v_hits;
end
$$;

------------------------------------------------------------------------------
-- Seed functions
------------------------------------------------------------------------------
-- What a customer is told about their verification: never risk or screening.
create type app.kyc_summary as (id uuid, level text, status text, submitted_at timestamptz, created_at timestamptz);

create function api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date,
                                              nationality text, address_line1 text, city text, postal_code text,
                                              residence_country text, id_document_type text, id_document_number text,
                                              address_line2 text default null, now timestamptz default now())
  returns app.kyc_summary
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.current_user_id();
  v_now timestamptz := app.clock(now);
  v_rec app.kyc_records;
begin
  perform app_private.assert_kyc_writable();
  if v_user is null then
    raise exception 'Sign in to start a verification.' using errcode = 'PT401', detail = 'INVALID_TOKEN', hint = 'Send an access token.';
  end if;
  perform app_private.kyc_precondition(v_user);
  if level is null or level not in ('basic', 'standard', 'enhanced') then
    raise exception 'The verification level is not known.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
      hint = 'Choose basic, standard or enhanced.';
  end if;
  if date_of_birth is null or date_of_birth > (v_now - interval '18 years')::date then
    raise exception 'Only adults can be verified.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
      hint = 'Give the date of birth as YYYY-MM-DD; you must be at least 18.';
  end if;
  begin
    insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                      address_line1, address_line2, city, postal_code, residence_country, id_document_type,
                                      id_document_number, created_at)
    values (v_user, initiate_kyc_verification.level, btrim(legal_first_name), btrim(legal_last_name), date_of_birth,
            upper(nationality), btrim(address_line1), nullif(btrim(address_line2), ''), btrim(city), upper(btrim(postal_code)),
            upper(residence_country), id_document_type, upper(replace(btrim(id_document_number), ' ', '')), v_now)
    returning r.* into v_rec;
  exception
    when unique_violation then
      raise exception 'A verification is already in progress.' using errcode = 'PT409', detail = 'KYC_IN_PROGRESS',
        hint = 'Finish the verification in progress (see get_user_latest_kyc) before starting another.';
    when check_violation or foreign_key_violation or not_null_violation then
      raise exception 'Some identity data is missing or not valid.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
        hint = 'Names 1-100 characters without digits, countries ISO 3166-1 alpha-2 (DE), postal code 2-12 letters or digits, document number 4-30 letters, digits or dashes.';
  end;
  perform audit.log_event('kyc.initiated', v_user, jsonb_build_object('kyc_id', v_rec.id, 'level', v_rec.level));
  perform app_private.screen_kyc_record(v_rec.id, array['sanctions', 'pep'], v_now);
  return row(v_rec.id, v_rec.level, v_rec.status, v_rec.submitted_at, v_rec.created_at)::app.kyc_summary;
end
$$;
comment on function api.initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text, timestamptz) is
  'Starts an identity verification for the caller at a level (basic, standard, enhanced) with their identity data.
Refuses while another is in progress (KYC_IN_PROGRESS); screens the name against sanctions and PEP lists and scores the risk.
Definer: writes the record, screening results and risk, none of which a customer may write.';
grant execute on function api.initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text, timestamptz)
  to authenticated;

-- The customer hands the verification over for review once the documents the
-- level needs are uploaded: standard and enhanced an identity document,
-- enhanced also a proof of address.
create function api.submit_kyc_verification(kyc_id uuid) returns app.kyc_summary
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_rec app.kyc_records;
begin
  perform app_private.assert_kyc_writable();
  select * into v_rec from app.kyc_records r
   where r.id = submit_kyc_verification.kyc_id and r.user_id = app.current_user_id() for update;
  if not found then
    raise exception 'No verification of yours has this id.' using errcode = 'PT404', detail = 'KYC_NOT_FOUND',
      hint = 'See your verifications at /my_kyc_verifications.';
  end if;
  if v_rec.status not in ('pending', 'requires_resubmission') then
    raise exception 'This verification is not waiting for you.' using errcode = 'PT409', detail = 'KYC_INVALID_TRANSITION',
      hint = 'Only a pending verification, or one that needs resubmission, can be submitted.';
  end if;
  if v_rec.level <> 'basic' and not exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id
       and d.document_type in ('passport', 'id_card', 'driving_licence') and d.status in ('uploaded', 'accepted')) then
    raise exception 'Upload an identity document first.' using errcode = 'PT409', detail = 'KYC_DOCUMENTS_MISSING',
      hint = 'Upload a passport, identity card or driving licence with POST /kyc/documents.';
  end if;
  if v_rec.level = 'enhanced' and not exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id
       and d.document_type = 'proof_of_address' and d.status in ('uploaded', 'accepted')) then
    raise exception 'Upload a proof of address first.' using errcode = 'PT409', detail = 'KYC_DOCUMENTS_MISSING',
      hint = 'Enhanced verification needs a proof of address (utility bill, bank statement) as well.';
  end if;
  update app.kyc_records r set status = 'in_review', submitted_at = now() where r.id = v_rec.id;
  perform app_private.refresh_kyc_risk(v_rec.id, now());
  perform audit.log_event('kyc.submitted', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id));
  select * into v_rec from app.kyc_records r where r.id = v_rec.id;
  return row(v_rec.id, v_rec.level, v_rec.status, v_rec.submitted_at, v_rec.created_at)::app.kyc_summary;
end
$$;
comment on function api.submit_kyc_verification(uuid) is
  'Hands the caller''s verification over for review once its documents are uploaded (KYC_DOCUMENTS_MISSING otherwise).
Definer: changes the status, which no customer may write.';
grant execute on function api.submit_kyc_verification(uuid) to authenticated;

create type app.kyc_decision as (
  status text,           -- approved, pending_second_approval, rejected, requires_resubmission
  kyc_id uuid,
  kyc_status text,
  risk_level text,
  expires_at timestamptz
);

-- A compliance officer (or an automated decision by a trusted caller: the
-- scheduler, a DBA) records the outcome of a verification in review.
-- Approval needs every check resolved; high and critical risk need two
-- different officers (the first approval is returned as pending_second_approval);
-- nobody decides their own verification. Validity by risk: 3 years low,
-- 2 years medium, 1 year high/critical.
create function api.complete_kyc_verification(kyc_id uuid, decision text, reason text default null, now timestamptz default now())
  returns app.kyc_decision
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_role text := app.caller_role();
  v_officer uuid := app.current_user_id();
  v_automated boolean := app.caller_role() not in ('anon', 'authenticated', 'compliance_officer', 'admin', 'dwaybank_gateway');
  v_now timestamptz := app.clock(now);
  v_rec app.kyc_records;
  v_level text;
begin
  perform app_private.assert_kyc_writable();
  if not v_automated and v_role <> 'compliance_officer' then
    raise exception 'Only a compliance officer can decide a verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer to review it.';
  end if;
  if v_automated then
    v_officer := null;
  end if;
  if decision is null or decision not in ('approved', 'rejected', 'requires_resubmission') then
    raise exception 'The decision is not known.' using errcode = 'PT400', detail = 'KYC_INVALID_DECISION',
      hint = 'Decide approved, rejected or requires_resubmission.';
  end if;
  if decision <> 'approved' and (reason is null or length(btrim(reason)) < 3) then
    raise exception 'A rejection or a request for resubmission needs a reason.' using errcode = 'PT400', detail = 'KYC_REASON_REQUIRED',
      hint = 'Say what is wrong or missing (3 to 1000 characters).';
  end if;
  select * into v_rec from app.kyc_records r where r.id = complete_kyc_verification.kyc_id for update;
  if not found then
    raise exception 'No verification has this id.' using errcode = 'PT404', detail = 'KYC_NOT_FOUND', hint = 'See /kyc_review_queue.';
  end if;
  if v_rec.user_id = v_officer then
    perform audit.log_event('kyc.self_decision_refused', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id), 'critical');
    raise exception 'Nobody can decide their own verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Another compliance officer must review it.';
  end if;
  if not (v_rec.status = 'in_review' or (v_rec.status = 'pending' and decision <> 'approved')) then
    raise exception 'This verification is not in review.' using errcode = 'PT409', detail = 'KYC_INVALID_TRANSITION',
      hint = 'Only a verification in review can be approved; a pending one can be rejected or sent back.';
  end if;

  if decision = 'approved' then
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.status = 'potential_match') then
      raise exception 'A screening check is not resolved yet.' using errcode = 'PT409', detail = 'KYC_CHECKS_UNRESOLVED',
        hint = 'Resolve every potential match (resolve_kyc_check) as false_positive or confirmed_match first.';
    end if;
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.check_type = 'sanctions'
                 and c.status = 'confirmed_match') then
      raise exception 'A confirmed sanctions match cannot be approved.' using errcode = 'PT409', detail = 'KYC_SANCTIONS_MATCH',
        hint = 'Reject the verification and follow the sanctions procedure.';
    end if;
    v_level := app_private.refresh_kyc_risk(v_rec.id, v_now);
    if v_level in ('high', 'critical') then
      if v_automated then
        raise exception 'High-risk verifications need two compliance officers.' using errcode = 'PT409',
          detail = 'KYC_OFFICER_REQUIRED', hint = 'Leave it in the review queue.';
      end if;
      if v_rec.first_approver_id is null then
        update app.kyc_records r set first_approver_id = v_officer, first_approved_at = v_now where r.id = v_rec.id;
        perform audit.log_event('kyc.first_approval', v_rec.user_id,
          jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_level), 'info');
        return row('pending_second_approval', v_rec.id, 'in_review', v_level, null)::app.kyc_decision;
      elsif v_rec.first_approver_id = v_officer then
        raise exception 'A second, different officer must approve a high-risk verification.' using errcode = 'PT409',
          detail = 'KYC_SECOND_APPROVER_REQUIRED', hint = 'Ask another compliance officer to approve it.';
      end if;
    elsif v_automated and v_level <> 'low' then
      raise exception 'Only low-risk verifications are approved automatically.' using errcode = 'PT409',
        detail = 'KYC_OFFICER_REQUIRED', hint = 'Leave it in the review queue.';
    end if;
    -- A renewal replaces the approval it renews.
    update app.kyc_records r set status = 'expired', decision_reason = coalesce(r.decision_reason, 'superseded by renewal')
     where r.user_id = v_rec.user_id and r.status = 'approved' and r.id <> v_rec.id;
    update app.kyc_records r
       set status = 'approved', reviewer_id = v_officer, automated_decision = v_automated,
           -- (a first approval given while the risk was high does not count twice for the same officer)
           first_approver_id = case when r.first_approver_id is distinct from v_officer then r.first_approver_id end,
           first_approved_at = case when r.first_approver_id is distinct from v_officer then r.first_approved_at end,
           decision_reason = nullif(btrim(complete_kyc_verification.reason), ''), decided_at = v_now,
           expires_at = v_now + app_private.kyc_validity(v_level)
     where r.id = v_rec.id
    returning r.* into v_rec;
  else
    update app.kyc_records r
       set status = complete_kyc_verification.decision, reviewer_id = v_officer, automated_decision = v_automated,
           decision_reason = btrim(complete_kyc_verification.reason), decided_at = v_now,
           first_approver_id = null, first_approved_at = null
     where r.id = v_rec.id
    returning r.* into v_rec;
  end if;
  perform audit.log_event('kyc.' || v_rec.status, v_rec.user_id,
    jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_rec.risk_level, 'automated', v_automated,
                       'four_eyes', v_rec.first_approver_id is not null), case when v_rec.status = 'approved' then 'info' else 'warning' end);
  return row(v_rec.status, v_rec.id, v_rec.status, v_rec.risk_level, v_rec.expires_at)::app.kyc_decision;
end
$$;
comment on function api.complete_kyc_verification(uuid, text, text, timestamptz) is
  'Records a compliance officer''s decision (approved, rejected, requires_resubmission) on a verification.
Approval needs every screening check resolved (KYC_CHECKS_UNRESOLVED); high and critical risk need a second, different officer
(the first approval answers pending_second_approval). Expiry: 3 years low, 2 medium, 1 high/critical risk.
Definer: writes status and decision columns no API role may write; the function checks the officer.';
grant execute on function api.complete_kyc_verification(uuid, text, text, timestamptz) to compliance_officer;

create function api.get_user_latest_kyc(user_id uuid default null, now timestamptz default now())
  returns table (kyc_id uuid, status text, level text, risk_level text, decided_at timestamptz, expires_at timestamptz,
                 verified boolean, verified_until timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_user uuid := coalesce(get_user_latest_kyc.user_id, app.current_user_id());
  v_staff boolean := app.caller_role() not in ('anon', 'authenticated');
  v_until timestamptz;
begin
  if not v_staff and v_user is distinct from app.current_user_id() then
    raise exception 'You may only see your own verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Call it without user_id for your own status.';
  end if;
  select r.expires_at into v_until from app.kyc_records r
   where r.user_id = v_user and r.status = 'approved' and r.expires_at > get_user_latest_kyc.now;
  return query
    select r.id, r.status, r.level, case when v_staff then r.risk_level end, r.decided_at, r.expires_at,
           v_until is not null, v_until
      from app.kyc_records r
     where r.user_id = v_user
     order by r.created_at desc
     limit 1;
end
$$;
comment on function api.get_user_latest_kyc(uuid, timestamptz) is
  'The KYC status check: a user''s latest verification and whether they are verified now (and until when).
Customers see only their own (risk level hidden); staff anyone''s. Reads only the covering index kyc_records_user_latest_idx.
Definer: staff read other users'' status without reading their KYC data.';
grant execute on function api.get_user_latest_kyc(uuid, timestamptz) to authenticated, :DATABASE_GATEWAY;

-- Marks approvals past their expiry as expired, and opens a renewal (a new
-- pending verification with the same identity data) for approvals expiring
-- within dwaybank.kyc_renewal_days (30), with an e-mail through the outbox.
-- One user, or everyone when user_id is null (the daily scheduled job:
-- select app.check_kyc_expiry(null)).
create function app.check_kyc_expiry(user_id uuid default null, now timestamptz default now())
  returns table (expired integer, renewals_opened integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_now timestamptz := app.clock(now);
  v_rec app.kyc_records;
  v_new uuid;
  v_expired integer := 0;
  v_opened integer := 0;
begin
  for v_rec in
    update app.kyc_records r set status = 'expired'
     where r.status = 'approved' and r.expires_at <= v_now
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
    returning r.*
  loop
    v_expired := v_expired + 1;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.expired', jsonb_build_object('kyc_id', v_rec.id, 'expired_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.expired', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id, 'expires_at', v_rec.expires_at));
  end loop;

  for v_rec in
    select r.* from app.kyc_records r
     where r.status = 'approved' and r.renewal_requested_at is null
       and r.expires_at <= v_now + make_interval(days => app.setting('kyc_renewal_days', '30')::integer)
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
     for update skip locked
  loop
    v_new := null;
    if not exists (select from app.kyc_records p where p.user_id = v_rec.user_id
                     and p.status in ('pending', 'in_review', 'requires_resubmission')) then
      insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                        address_line1, address_line2, city, postal_code, residence_country,
                                        id_document_type, id_document_number, renewal_of, created_at)
      values (v_rec.user_id, v_rec.level, v_rec.legal_first_name, v_rec.legal_last_name, v_rec.date_of_birth, v_rec.nationality,
              v_rec.address_line1, v_rec.address_line2, v_rec.city, v_rec.postal_code, v_rec.residence_country,
              v_rec.id_document_type, v_rec.id_document_number, v_rec.id, v_now)
      returning r.id into v_new;
      perform app_private.screen_kyc_record(v_new, array['sanctions', 'pep'], v_now);
      v_opened := v_opened + 1;
    end if;
    update app.kyc_records r set renewal_requested_at = v_now where r.id = v_rec.id;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.renewal_due',
            jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.renewal_opened', v_rec.user_id,
      jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at));
  end loop;
  return query select v_expired, v_opened;
end
$$;
comment on function app.check_kyc_expiry(uuid, timestamptz) is
  'Expires approvals past expires_at and opens renewals (a pending verification and an e-mail) 30 days ahead; one user or all (null).
Definer: the scheduler writes every user''s verifications and the outbox.';
grant execute on function app.check_kyc_expiry(uuid, timestamptz) to admin;

------------------------------------------------------------------------------
-- Review: checks, documents, queue
------------------------------------------------------------------------------
create function api.resolve_kyc_check(check_id uuid, resolution text, note text) returns app.kyc_compliance_checks
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_check app.kyc_compliance_checks;
begin
  perform app_private.assert_kyc_writable();
  if app.caller_role() <> 'compliance_officer' then
    raise exception 'Only a compliance officer can resolve a check.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer.';
  end if;
  if resolution is null or resolution not in ('false_positive', 'confirmed_match') then
    raise exception 'The resolution is not known.' using errcode = 'PT400', detail = 'KYC_INVALID_DECISION',
      hint = 'Resolve as false_positive or confirmed_match.';
  end if;
  if note is null or length(btrim(note)) not between 3 and 1000 then
    raise exception 'A resolution needs a note.' using errcode = 'PT400', detail = 'KYC_REASON_REQUIRED',
      hint = 'Say why (3 to 1000 characters): which identifiers differ or agree.';
  end if;
  select * into v_check from app.kyc_compliance_checks c where c.id = resolve_kyc_check.check_id for update;
  if not found then
    raise exception 'No check has this id.' using errcode = 'PT404', detail = 'KYC_CHECK_NOT_FOUND', hint = 'See /kyc_checks.';
  end if;
  if v_check.user_id = app.current_user_id() then
    raise exception 'Nobody can resolve their own screening.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Another compliance officer must resolve it.';
  end if;
  if v_check.status <> 'potential_match' then
    raise exception 'This check is not waiting for a resolution.' using errcode = 'PT409', detail = 'KYC_CHECK_RESOLVED',
      hint = 'Only potential matches are resolved.';
  end if;
  update app.kyc_compliance_checks c
     set status = resolve_kyc_check.resolution, resolved_by = app.current_user_id(), resolved_at = now(),
         resolution_note = btrim(resolve_kyc_check.note)
   where c.id = v_check.id
  returning c.* into v_check;
  perform app_private.refresh_kyc_risk(v_check.kyc_record_id, now());
  perform audit.log_event('kyc.check_resolved', v_check.user_id,
    jsonb_build_object('check_id', v_check.id, 'kyc_id', v_check.kyc_record_id, 'check_type', v_check.check_type,
                       'resolution', v_check.status),
    case when v_check.status = 'confirmed_match' then 'critical' else 'info' end);
  return v_check;
end
$$;
comment on function api.resolve_kyc_check(uuid, text, text) is
  'Resolves a potential screening match as false_positive or confirmed_match, with a note, and re-scores the risk.
Definer: writes check and risk columns no API role may write; the function checks the officer.';
grant execute on function api.resolve_kyc_check(uuid, text, text) to compliance_officer;

create function api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text default null)
  returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_doc app.kyc_documents;
begin
  perform app_private.assert_kyc_writable();
  if app.caller_role() <> 'compliance_officer' then
    raise exception 'Only a compliance officer can assess a document.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer.';
  end if;
  if status is null or status not in ('accepted', 'rejected') or quality_score is null or quality_score not between 0 and 100 then
    raise exception 'The assessment is not valid.' using errcode = 'PT400', detail = 'KYC_INVALID_DECISION',
      hint = 'Give status accepted or rejected and a quality score from 0 to 100.';
  end if;
  select * into v_doc from app.kyc_documents d where d.id = review_kyc_document.document_id for update;
  if not found then
    raise exception 'No document has this id.' using errcode = 'PT404', detail = 'KYC_DOCUMENT_NOT_FOUND', hint = 'See /kyc_review_queue.';
  end if;
  if v_doc.user_id = app.current_user_id() then
    raise exception 'Nobody can assess their own documents.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Another compliance officer must assess them.';
  end if;
  update app.kyc_documents d
     set status = review_kyc_document.status, quality_score = review_kyc_document.quality_score,
         quality_notes = nullif(btrim(review_kyc_document.notes), ''), reviewed_by = app.current_user_id(), reviewed_at = now()
   where d.id = v_doc.id;
  perform app_private.refresh_kyc_risk(v_doc.kyc_record_id, now());
  perform audit.log_event('kyc.document_reviewed', v_doc.user_id,
    jsonb_build_object('document_id', v_doc.id, 'status', status, 'quality_score', quality_score));
  return v_doc.id;
end
$$;
comment on function api.review_kyc_document(uuid, text, integer, text) is
  'Records an officer''s quality assessment of a document (accepted/rejected, 0-100) and re-scores the risk.
Definer: writes assessment columns no API role may write.';
grant execute on function api.review_kyc_document(uuid, text, integer, text) to compliance_officer;

create view api.my_kyc_verifications with (security_invoker = true) as
  select r.id, r.level, r.status, r.legal_first_name, r.legal_last_name, r.date_of_birth, r.nationality, r.address_line1,
         r.address_line2, r.city, r.postal_code, r.residence_country, r.id_document_type, r.id_document_number,
         r.submitted_at, r.decided_at, r.expires_at, r.renewal_of, r.created_at, r.updated_at
    from app.kyc_records r
   where r.user_id = app.current_user_id();
comment on view api.my_kyc_verifications is
  'The caller''s verifications (identity data, status, expiry); never risk or screening data.
Address fields of a pending verification can be corrected with PATCH.';
grant select, update (address_line1, address_line2, city, postal_code) on api.my_kyc_verifications to authenticated;

create view api.my_kyc_documents with (security_invoker = true) as
  select d.id, d.kyc_record_id, d.document_type, d.issuing_country, d.document_number, d.expires_on, d.status, d.mime_type,
         d.size_bytes, d.created_at
    from app.kyc_documents d
   where d.user_id = app.current_user_id();
comment on view api.my_kyc_documents is 'The caller''s uploaded documents (metadata only; download through the gateway).';
grant select on api.my_kyc_documents to authenticated;

create view api.kyc_review_queue with (security_invoker = true) as
  select r.id, r.user_id, r.level, r.status, r.risk_score, r.risk_level, r.risk_factors, r.legal_first_name,
         r.legal_last_name, r.date_of_birth, r.nationality, r.residence_country,
         (select count(*) from app.kyc_compliance_checks c where c.kyc_record_id = r.id and c.status = 'potential_match') as open_checks,
         (select count(*) from app.kyc_documents d where d.kyc_record_id = r.id) as documents,
         r.first_approver_id, r.first_approver_id is not null as awaiting_second_approval,
         coalesce(r.submitted_at, r.created_at) as waiting_since
    from app.kyc_records r
   where r.status in ('pending', 'in_review')
      or (r.status = 'approved' and exists (select from app.kyc_compliance_checks c
                                             where c.kyc_record_id = r.id and c.status = 'potential_match'))
   order by r.risk_score desc nulls first, coalesce(r.submitted_at, r.created_at);
comment on view api.kyc_review_queue is
  'Compliance officers: verifications waiting for review (and approved ones with a new potential match), highest risk first, then oldest.
Identity and risk only; addresses, document numbers and files stay out of the queue.';
grant select on api.kyc_review_queue to compliance_officer;

create view api.kyc_checks with (security_invoker = true) as
  select c.id, c.kyc_record_id, c.user_id, c.check_type, c.provider, c.list_version, c.matches, c.top_score, c.status,
         c.resolved_by, c.resolved_at, c.resolution_note, c.created_at
    from app.kyc_compliance_checks c;
comment on view api.kyc_checks is 'Compliance officers: screening checks with their candidate matches and scores.';
grant select on api.kyc_checks to compliance_officer;

create view api.kyc_documents with (security_invoker = true) as
  select d.id, d.kyc_record_id, d.user_id, d.document_type, d.issuing_country, d.document_number, d.expires_on, d.status,
         d.quality_score, d.quality_notes, d.reviewed_by, d.reviewed_at, d.mime_type, d.size_bytes, d.created_at
    from app.kyc_documents d;
comment on view api.kyc_documents is 'Compliance officers: document metadata and assessments (files through GET /kyc/documents/{id}).';
grant select on api.kyc_documents to compliance_officer;

------------------------------------------------------------------------------
-- Gateway: document upload and download
------------------------------------------------------------------------------
-- Registers a document the gateway has encrypted and stored. The gateway checks
-- the access token's aal; this checks it again on the session itself.
create function app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text,
                                          size_bytes integer, sha256 bytea, storage_ref text, key_id text,
                                          issuing_country text default null, document_number text default null,
                                          expires_on date default null, ip inet default null, user_agent text default null,
                                          now timestamptz default now())
  returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_rec app.kyc_records;
  v_id uuid;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  if not exists (select from app.user_sessions s where s.id = register_kyc_document.session_id
                   and s.user_id = register_kyc_document.user_id and s.aal = 'aal2' and s.revoked_at is null
                   and s.expires_at > register_kyc_document.now) then
    raise exception 'Uploading documents needs a session confirmed with your second factor.' using errcode = 'PT403',
      detail = 'STEP_UP_REQUIRED', hint = 'Set up a second factor and sign in with it (or step up with POST /auth/mfa/step-up).';
  end if;
  select * into v_rec from app.kyc_records r
   where r.id = register_kyc_document.kyc_id and r.user_id = register_kyc_document.user_id for update;
  if not found then
    raise exception 'No verification of yours has this id.' using errcode = 'PT404', detail = 'KYC_NOT_FOUND',
      hint = 'Start a verification first (initiate_kyc_verification).';
  end if;
  if v_rec.status not in ('pending', 'requires_resubmission') then
    raise exception 'This verification takes no more documents.' using errcode = 'PT409', detail = 'KYC_INVALID_TRANSITION',
      hint = 'Documents are uploaded while a verification is pending or needs resubmission.';
  end if;
  if size_bytes is null or size_bytes > app.setting('kyc_max_document_bytes', '10485760')::integer then
    raise exception 'The document is too large.' using errcode = 'PT413', detail = 'PAYLOAD_TOO_LARGE',
      hint = 'Upload at most 10 MiB.';
  end if;
  if (select count(*) from app.kyc_documents d where d.kyc_record_id = v_rec.id)
       >= app.setting('kyc_max_documents_per_verification', '10')::integer
     or (select count(*) from app.kyc_documents d where d.user_id = register_kyc_document.user_id)
       >= app.setting('kyc_max_documents_per_user', '30')::integer then
    raise exception 'Too many documents.' using errcode = 'PT409', detail = 'KYC_DOCUMENT_LIMIT',
      hint = 'A verification takes at most 10 documents; contact support if you need more.';
  end if;
  if expires_on is not null and expires_on <= now::date then
    raise exception 'The document has expired.' using errcode = 'PT400', detail = 'KYC_DOCUMENT_EXPIRED',
      hint = 'Upload a document that is still valid.';
  end if;
  begin
    insert into app.kyc_documents as d (kyc_record_id, user_id, document_type, issuing_country, document_number, expires_on,
                                        mime_type, size_bytes, sha256)
    values (v_rec.id, register_kyc_document.user_id, document_type, upper(issuing_country),
            upper(replace(btrim(document_number), ' ', '')), expires_on, mime_type, size_bytes, sha256)
    returning d.id into v_id;
  exception when check_violation or foreign_key_violation or not_null_violation then
    raise exception 'Some document data is missing or not valid.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
      hint = 'Identity documents need issuing_country (ISO alpha-2), document_number and expires_on; files are PDF, JPEG or PNG.';
  end;
  insert into app_private.kyc_document_objects (document_id, storage_ref, key_id) values (v_id, storage_ref, key_id);
  perform app_private.refresh_kyc_risk(v_rec.id, now);
  perform audit.log_event('kyc.document_uploaded', register_kyc_document.user_id,
    jsonb_build_object('kyc_id', v_rec.id, 'document_id', v_id, 'document_type', document_type, 'mime_type', mime_type,
                       'size_bytes', size_bytes));
  return v_id;
end
$$;
comment on function app.register_kyc_document(uuid, uuid, uuid, text, text, integer, bytea, text, text, text, text, date, inet, text, timestamptz) is
  'Registers an uploaded document (metadata, SHA-256, encrypted storage location) on the caller''s pending verification.
Needs an aal2 session (STEP_UP_REQUIRED); limits size and counts. Definer: writes app_private.';
grant execute on function app.register_kyc_document(uuid, uuid, uuid, text, text, integer, bytea, text, text, text, text, date, inet, text, timestamptz)
  to :DATABASE_GATEWAY;

-- What the gateway needs to serve a document: only to its owner or a compliance officer.
create function app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet default null,
                                              user_agent text default null)
  returns table (id uuid, user_id uuid, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_doc app.kyc_documents;
  v_officer boolean;
begin
  perform app.set_request_context(actor_id, session_id, ip, user_agent);
  select * into v_doc from app.kyc_documents d where d.id = kyc_document_for_download.document_id;
  select u.role = 'compliance_officer' into v_officer from app.users u
   where u.id = kyc_document_for_download.actor_id and u.status = 'active' and u.deleted_at is null;
  if v_doc.id is null or not (v_doc.user_id = actor_id or coalesce(v_officer, false)) then
    if v_doc.id is not null then
      perform audit.log_event('kyc.document_access_denied', v_doc.user_id, jsonb_build_object('document_id', v_doc.id), 'warning');
    end if;
    raise exception 'No document you may see has this id.' using errcode = 'PT404', detail = 'KYC_DOCUMENT_NOT_FOUND',
      hint = 'Documents are shown to their owner and to compliance officers.';
  end if;
  perform audit.log_event('kyc.document_read', v_doc.user_id,
    jsonb_build_object('document_id', v_doc.id, 'by_officer', v_doc.user_id <> actor_id));
  return query select v_doc.id, v_doc.user_id, v_doc.mime_type, v_doc.size_bytes, v_doc.sha256, o.storage_ref, o.key_id
                 from app_private.kyc_document_objects o where o.document_id = v_doc.id;
end
$$;
comment on function app.kyc_document_for_download(uuid, uuid, uuid, inet, text) is
  'The hash and encrypted storage location of a document, for its owner or a compliance officer (logged).
Definer: reads app_private.';
grant execute on function app.kyc_document_for_download(uuid, uuid, uuid, inet, text) to :DATABASE_GATEWAY;

-- Called by the gateway in its own transaction when a stored file does not
-- match its recorded SHA-256 (or cannot be decrypted), so the finding survives
-- the failed request.
create function app.report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid,
                                                          reason text default 'hash_mismatch', ip inet default null,
                                                          user_agent text default null)
  returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_doc app.kyc_documents;
begin
  perform app.set_request_context(actor_id, session_id, ip, user_agent);
  update app.kyc_documents d set status = 'integrity_failed'
   where d.id = report_kyc_document_integrity_failure.document_id
  returning d.* into v_doc;
  if v_doc.id is not null then
    perform app_private.refresh_kyc_risk(v_doc.kyc_record_id, now());
    perform audit.log_event('kyc.document_integrity_failed', v_doc.user_id,
      jsonb_build_object('document_id', v_doc.id, 'reason', left(reason, 64)), 'critical');
  end if;
end
$$;
comment on function app.report_kyc_document_integrity_failure(uuid, uuid, uuid, text, inet, text) is
  'Records that a stored document failed its integrity check (critical audit event, document marked integrity_failed).
Definer: writes the document status.';
grant execute on function app.report_kyc_document_integrity_failure(uuid, uuid, uuid, text, inet, text) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Watchlist loading (scripts/watchlist-load.mjs, run as the database owner)
------------------------------------------------------------------------------
-- Starts loading a list version. Returns null when this version is already
-- loaded (re-loading is a no-op); a half-loaded version is emptied first.
create function app.begin_watchlist_load(name text, version text, source text default null) returns uuid
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_list app.watchlists;
begin
  select * into v_list from app.watchlists w where w.name = begin_watchlist_load.name and w.version = begin_watchlist_load.version for update;
  if found and v_list.status = 'loaded' then
    return null;
  elsif found then
    delete from app.watchlist_entries e where e.watchlist_id = v_list.id;
    return v_list.id;
  end if;
  insert into app.watchlists as w (name, version, source) values (begin_watchlist_load.name, begin_watchlist_load.version, left(source, 500))
  returning w.id into v_list.id;
  return v_list.id;
end
$$;
comment on function app.begin_watchlist_load(text, text, text) is 'Starts loading a watchlist version; null if it is already loaded.';

-- Adds a batch of entries: [{id, schema, name, aliases[], birth_date, countries[], program, kind}].
create function app.add_watchlist_entries(watchlist_id uuid, entries jsonb) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  with ins as (
    insert into app.watchlist_entries as e (watchlist_id, kind, external_id, schema, name, aliases, birth_date, countries, program)
    select add_watchlist_entries.watchlist_id, x.kind, x.id, coalesce(nullif(x.schema, ''), 'Person'), x.name,
           coalesce(x.aliases, '{}'), nullif(x.birth_date, ''),
           coalesce(array(select upper(c) from unnest(x.countries) c where c <> ''), '{}'), nullif(x.program, '')
      from jsonb_to_recordset(entries) as x(id text, kind text, schema text, name text, aliases text[], birth_date text,
                                            countries text[], program text)
    on conflict on constraint watchlist_entries_list_external_id_key do nothing
    returning e.id, e.name, e.aliases
  ), names as (
    insert into app.watchlist_names (entry_id, name_norm)
    select distinct i.id, app.normalize_name(n)
      from ins i, unnest(i.aliases || i.name) n
     where app.normalize_name(n) is not null
    on conflict on constraint watchlist_names_pkey do nothing
    returning 1
  )
  select count(*) into v_count from ins;
  return v_count;
end
$$;
comment on function app.add_watchlist_entries(uuid, jsonb) is 'Adds a batch of watchlist entries with their normalised names.';

-- Marks the version loaded and re-screens every approved (and in-progress)
-- verification against it. Returns the number of new potential matches.
create function app.finish_watchlist_load(watchlist_id uuid, now timestamptz default now()) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_list app.watchlists;
  v_kinds text[];
  v_kyc uuid;
  v_hits integer := 0;
  v_screened integer := 0;
begin
  update app.watchlists w
     set status = 'loaded', loaded_at = now,
         entry_count = (select count(*) from app.watchlist_entries e where e.watchlist_id = w.id)
   where w.id = finish_watchlist_load.watchlist_id and w.status = 'loading'
  returning w.* into v_list;
  if not found then
    return 0;
  end if;
  select array_agg(distinct e.kind) into v_kinds from app.watchlist_entries e where e.watchlist_id = v_list.id;
  if v_kinds is not null then
    for v_kyc in select r.id from app.kyc_records r where r.status in ('approved', 'pending', 'in_review', 'requires_resubmission')
    loop
      v_hits := v_hits + app_private.screen_kyc_record(v_kyc, v_kinds, now);
      v_screened := v_screened + 1;
    end loop;
  end if;
  perform audit.log_event('kyc.watchlist.loaded', null,
    jsonb_build_object('list', v_list.name, 'version', v_list.version, 'entries', v_list.entry_count,
                       'rescreened', v_screened, 'potential_matches', v_hits),
    case when v_hits > 0 then 'warning' else 'info' end);
  return v_hits;
end
$$;
comment on function app.finish_watchlist_load(uuid, timestamptz) is
  'Marks a watchlist version loaded and re-screens every approved or in-progress verification against it.';
