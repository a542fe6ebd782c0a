-- estimate: 0.3 s + 0.005 s per 1000 rows of work_orders
-- 0003_work_order_status (4.0.0): a status per work order, in its own table, filled
-- from the existing rows (closed_at set -> closed, else open). INSERT IGNORE keeps the
-- fill re-runnable; ON DELETE CASCADE keeps 3.2.x code (which knows nothing of this
-- table) able to delete work orders after a code-only rollback.
CREATE TABLE IF NOT EXISTS work_order_status (
  work_order_id INT UNSIGNED NOT NULL PRIMARY KEY,
  status ENUM('open', 'closed') NOT NULL,
  changed_at DATETIME NOT NULL,
  CONSTRAINT fk_work_order_status_order FOREIGN KEY (work_order_id)
    REFERENCES work_orders (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO work_order_status (work_order_id, status, changed_at)
  SELECT id, IF(closed_at IS NULL, 'open', 'closed'), COALESCE(closed_at, opened_at)
  FROM work_orders;
