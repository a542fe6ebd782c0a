-- 0003_work_order_status down: the status table is derived data in 4.0.0's first
-- release; dropping it loses only statuses changed under 4.0.0 (the rollout restores
-- from the verified dump when those must be kept).
DROP TABLE IF EXISTS work_order_status;
