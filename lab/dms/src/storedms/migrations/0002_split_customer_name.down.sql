-- 0002_split_customer_name down: joins family_name + given_name back into name, at its
-- original place and with its original definition, so the table is what 3.1.0 had
-- (same rows, same CHECKSUM TABLE). Rows written by 3.2.x are joined the same way.
ALTER TABLE customers ADD COLUMN IF NOT EXISTS name VARCHAR(32) NULL AFTER id;

UPDATE customers SET name = CONCAT(family_name, given_name) WHERE name IS NULL;

ALTER TABLE customers MODIFY name VARCHAR(32) NOT NULL;

ALTER TABLE customers DROP COLUMN IF EXISTS family_name, DROP COLUMN IF EXISTS given_name;
