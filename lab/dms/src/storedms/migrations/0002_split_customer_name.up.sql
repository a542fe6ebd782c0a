-- estimate: 0.3 s + 0.008 s per 1000 rows of customers
-- (the estimate measured on MariaDB 10.11, 2 cores: 400,000 customers in 2.7 s, and the
-- tool's start; the catalog's migration_estimate is built from these lines: build.py)
-- 0002_split_customer_name (3.2.0): CHANGES DATA. customers.name -> family_name (its
-- first character) + given_name (the rest). Lossless: the down path joins them back, so
-- CONCAT(family_name, given_name) = name for every row (compound surnames such as 欧阳
-- come out split after the first character, and join back exactly).
-- Each statement is re-runnable; the UPDATE only touches rows not yet split.
ALTER TABLE customers
  ADD COLUMN IF NOT EXISTS family_name VARCHAR(8) NULL AFTER id,
  ADD COLUMN IF NOT EXISTS given_name VARCHAR(31) NULL AFTER family_name;

UPDATE customers SET family_name = LEFT(name, 1), given_name = SUBSTRING(name, 2)
  WHERE family_name IS NULL;

ALTER TABLE customers
  MODIFY family_name VARCHAR(8) NOT NULL,
  MODIFY given_name VARCHAR(31) NOT NULL;

ALTER TABLE customers DROP COLUMN IF EXISTS name;
