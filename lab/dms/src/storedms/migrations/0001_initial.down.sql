-- 0001_initial down: drops everything (a fresh database). Children first (foreign keys).
DROP TABLE IF EXISTS work_orders;
DROP TABLE IF EXISTS vehicles;
DROP TABLE IF EXISTS customers;
