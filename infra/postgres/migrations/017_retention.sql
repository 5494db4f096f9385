-- Personal data of answers is kept this many months (NULL: until a customer is erased).
ALTER TABLE tenants ADD COLUMN retention_months integer
    CHECK (retention_months BETWEEN 1 AND 600);
-- The day (UTC) retention was last applied to the tenant: once a day, by one process.
ALTER TABLE tenants ADD COLUMN retention_applied_on date;
