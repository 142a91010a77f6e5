--! Previous: sha1:c59e9450521caf131364fc529ffed9712db68f63
--! Hash: sha1:1d7dab5a77edd53842e1ce35bd411d6bc0375c23
--! Message: audit partitions always belong to the schema owner

--! split: 1-current.sql
-- Audit partitions always belong to the schema owner, whoever creates them.
--
-- audit.create_partitions ran with its caller's rights, so a partition created by a
-- superuser by hand (as the benchmark's data loader did) belonged to that superuser,
-- and every later ALTER TABLE of the trail, which recurses into its partitions, failed
-- for the migration role with "must be owner of table audit_log_...". As a definer
-- function it creates them as the trail's owner; PUBLIC still may not execute it (the
-- scheduler runs it as the owner).
alter function audit.create_partitions(integer, timestamptz) security definer;
comment on function audit.create_partitions(integer, timestamptz) is
  'Creates monthly audit partitions ahead of time so inserts never fall into the default partition. Definer: the partitions belong to the trail''s owner whoever asks, so later migrations can alter the trail.';
