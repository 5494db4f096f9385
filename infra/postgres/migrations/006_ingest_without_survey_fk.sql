-- The write path's insert joins each answer to its tenant's active survey in the same
-- statement, and surveys are archived, never deleted: the foreign key added a per-row
-- trigger and a shared lock on the survey row (contended by every concurrent batch)
-- without guaranteeing anything more.
ALTER TABLE responses DROP CONSTRAINT responses_tenant_id_survey_id_fkey;
